import { describe, expect, it } from 'vitest';
import { createProducer } from '../../src/producer/producer.js';
import type { UpdateRequest } from '../../src/update.js';
import { startLocalCluster } from '../helpers/cluster.js';
import { TOKEN, testSimulator, testWorker } from '../helpers/pipeline.js';
import { onCleanup, track, uniqueQueueName } from '../helpers/resources.js';

describe('Redis Cluster', () => {
  it('runs the whole pipeline on a local 3-master cluster', async () => {
    const cluster = await startLocalCluster();
    const sim = await testSimulator();
    const queueName = uniqueQueueName('cluster');
    const objects = Array.from({ length: 300 }, (_, i) => ({ id: String(5000 + i), properties: {} }));
    sim.createObjects(TOKEN, 'contacts', objects);
    const producer = createProducer({ redis: cluster.url, queueName });
    const closed = track('cluster producer');
    onCleanup(async () => {
      await producer.close();
      closed();
    });
    const updates = objects.flatMap((o): UpdateRequest[] => [
      { objectType: 'contacts', id: o.id, properties: { firstname: `a-${o.id}` } },
      { objectType: 'contacts', id: o.id, properties: { firstname: `b-${o.id}`, city: 'Oslo' } },
    ]);
    const results = await producer.enqueueMany(updates);
    await testWorker(queueName, sim, { redisUrl: cluster.url });
    const outcomes = await producer.waitForOutcomes(
      results.map((r) => r.objectWriteTraceId),
      { timeoutMs: 60_000 },
    );
    expect(outcomes.filter((o) => o.status === 'failed')).toEqual([]);
    for (const o of objects) {
      expect(sim.getObject(TOKEN, 'contacts', o.id)?.properties).toMatchObject({
        firstname: `b-${o.id}`,
        city: 'Oslo',
      });
    }
    expect(sim.calls().filter((c) => c.path.endsWith('/batch/update')).length).toBeLessThanOrEqual(3);
  });
});
