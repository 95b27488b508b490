import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { MAX_UPDATES_PER_BATCH } from '../../src/worker/dispatcher.js';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker, waitFor } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

describe('a batch in flight', () => {
  it(`holds at most ${MAX_UPDATES_PER_BATCH} updates however many wait, and the rest still land in order`, async () => {
    const sim = await testSimulator({ autoCreate: true, latencyMs: 1_500 });
    const queue = testQueue('batch-memory');
    const producer = testProducer(queue);
    const redis = testRedis();
    const k = queueKeys(queue);
    // 100 objects with 15 updates each: 1,500 updates that one batch of 100 objects could take.
    const updates = Array.from({ length: 1_500 }, (_, i) => ({
      objectType: 'contacts',
      id: String(1 + (i % 100)),
      properties: { firstname: `v${Math.floor(i / 100)}` },
    }));
    const ids = (await producer.enqueueMany(updates)).map((r) => r.objectWriteTraceId);
    await testWorker(queue, sim, { validateProperties: false, batchLingerMs: 0 });
    await waitFor(async () => (await redis.zcard(k.leases)) >= 1, { what: 'a batch in flight' });
    for (const batchId of await redis.zrange(k.leases, 0, -1)) {
      const record = await redis.hgetall(k.batch(batchId));
      const objects = Object.entries(record).filter(([field]) => !field.startsWith('#'));
      const held = objects.reduce((n, [, entries]) => n + entries.split('\n').length, 0);
      expect(held).toBeLessThanOrEqual(MAX_UPDATES_PER_BATCH);
      expect(objects.length).toBeLessThanOrEqual(100);
    }
    const outcomes = await producer.waitForOutcomes(ids, { timeoutMs: 60_000 });
    expect(outcomes.every((o) => o.status === 'succeeded' || o.status === 'superseded')).toBe(true);
    for (let id = 1; id <= 100; id++) {
      expect(sim.getObject(TOKEN, 'contacts', String(id))?.properties.firstname).toBe('v14');
    }
  });
});
