import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import {
  spawnWorker,
  TOKEN,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';
import { redisUrl } from '../helpers/resources.js';

describe('durability and bad input', () => {
  it('fails a garbage job put straight into the queue with a validation error without holding up valid jobs', async () => {
    const sim = await testSimulator();
    const queueName = testQueue('garbage');
    sim.createObjects(TOKEN, 'contacts', [{ id: '701', properties: {} }]);
    const keys = queueKeys(queueName);
    // A producer in another language speaks BullMQ: same queue name, same prefix, job id `t-<traceId>`.
    const bull = new Queue(queueName, { connection: { url: redisUrl() }, prefix: keys.bullPrefix });
    try {
      await bull.add('update', 'not an update', { jobId: 't-garbage-1' });
      await bull.add(
        'update',
        { objectType: 'contacts', properties: { firstname: 1 } },
        { jobId: 't-garbage-2' },
      );
      await bull.add(
        'update',
        { objectType: 'contacts', id: '701', properties: { firstname: { nested: true } } },
        { jobId: 't-garbage-3' },
      );
      await bull.add(
        'update',
        {
          objectType: 'contacts',
          id: '701',
          properties: { lastname: 'Lovelace' },
          objectWriteTraceId: 'valid-1',
        },
        { jobId: 't-valid-1' },
      );
    } finally {
      await bull.close();
    }
    const producer = testProducer(queueName);
    await testWorker(queueName, sim);
    const outcomes = await producer.waitForOutcomes(['garbage-1', 'garbage-2', 'garbage-3', 'valid-1']);
    expect(outcomes.map((o) => o.status)).toEqual(['failed', 'failed', 'failed', 'succeeded']);
    for (const o of outcomes.slice(0, 3)) expect(o.error?.category).toBe('VALIDATION_ERROR');
    expect(outcomes[1]?.error?.message).toMatch(/id/);
    expect(outcomes[2]?.error?.message).toMatch(/properties\.firstname/);
    expect(sim.getObject(TOKEN, 'contacts', '701')?.properties.lastname).toBe('Lovelace');
  });

  it('names data Redis cannot decode (an unpaired surrogate) as such, rather than as an unaddressable object', async () => {
    const sim = await testSimulator();
    const queueName = testQueue('surrogate');
    const keys = queueKeys(queueName);
    const bull = new Queue(queueName, { connection: { url: redisUrl() }, prefix: keys.bullPrefix });
    try {
      // BullMQ writes JSON.stringify's output: the lone surrogate as the escape `\ud83d`, which cjson refuses.
      await bull.add(
        'update',
        {
          objectType: 'contacts',
          id: '702',
          properties: { firstname: 'Ada \ud83d' },
          objectWriteTraceId: 'sur-1',
        },
        { jobId: 't-sur-1' },
      );
    } finally {
      await bull.close();
    }
    const producer = testProducer(queueName);
    await testWorker(queueName, sim);
    const [outcome] = await producer.waitForOutcomes(['sur-1']);
    expect(outcome).toMatchObject({ status: 'failed', objectType: 'contacts', id: '702' });
    expect(outcome?.error?.category).toBe('VALIDATION_ERROR');
    expect(outcome?.error?.message).toBe(
      "invalid update: job data is valid JSON that Redis's Lua JSON decoder cannot read: an unpaired surrogate in properties.firstname (\\ud83d)",
    );
    expect(sim.calls().filter((c) => c.path.endsWith('/batch/update'))).toEqual([]);
  });

  it('fails an object type that is not a name or id (`..`) without calling HubSpot, so no token goes elsewhere', async () => {
    const sim = await testSimulator({ autoCreate: true });
    const queueName = testQueue('dotdot');
    const keys = queueKeys(queueName);
    const bull = new Queue(queueName, { connection: { url: redisUrl() }, prefix: keys.bullPrefix });
    try {
      for (const [trace, objectType] of [
        ['dot-1', '..'],
        ['dot-2', 'contacts/..'],
        ['dot-3', '.'],
      ])
        await bull.add(
          'update',
          { objectType, id: '1', properties: { firstname: 'Ada' }, objectWriteTraceId: trace },
          { jobId: `t-${trace}` },
        );
      await bull.add(
        'update',
        { objectType: 'contacts', id: '703', properties: { firstname: 'Ada' }, objectWriteTraceId: 'dot-ok' },
        { jobId: 't-dot-ok' },
      );
    } finally {
      await bull.close();
    }
    const producer = testProducer(queueName);
    await testWorker(queueName, sim, { validateProperties: false });
    const outcomes = await producer.waitForOutcomes(['dot-1', 'dot-2', 'dot-3', 'dot-ok']);
    expect(outcomes.map((o) => o.status)).toEqual(['failed', 'failed', 'failed', 'succeeded']);
    for (const o of outcomes.slice(0, 3)) {
      expect(o.error?.category).toBe('VALIDATION_ERROR');
      expect(o.error?.message).toMatch(/objectType: must be an object type name/);
    }
    // The only call went to the contacts endpoint.
    expect(sim.calls().map((c) => c.path)).toEqual(['/crm/objects/2026-03/contacts/batch/update']);
  });

  it("fails an update over the worker's limits with a validation error naming the field", async () => {
    const sim = await testSimulator();
    const queueName = testQueue('worker-limits');
    sim.createObjects(TOKEN, 'contacts', [{ id: '704', properties: {} }]);
    const keys = queueKeys(queueName);
    const bull = new Queue(queueName, { connection: { url: redisUrl() }, prefix: keys.bullPrefix });
    try {
      await bull.add(
        'update',
        {
          objectType: 'contacts',
          id: '704',
          properties: { firstname: 'x'.repeat(70_000) },
          objectWriteTraceId: 'lim-1',
        },
        { jobId: 't-lim-1' },
      );
      await bull.add(
        'update',
        {
          objectType: 'contacts',
          id: '704',
          properties: { lastname: 'Lovelace', city: 'London' },
          objectWriteTraceId: 'lim-2',
        },
        { jobId: 't-lim-2' },
      );
    } finally {
      await bull.close();
    }
    const producer = testProducer(queueName);
    await testWorker(queueName, sim, { limits: { maxProperties: 1 }, validateProperties: false });
    const outcomes = await producer.waitForOutcomes(['lim-1', 'lim-2']);
    expect(outcomes.map((o) => [o.status, o.error?.message])).toEqual([
      ['failed', 'invalid update: properties.firstname: must be at most 65536 characters long'],
      ['failed', 'invalid update: properties: must name at most 1 properties (names 2)'],
    ]);
    expect(sim.calls().filter((c) => c.path.endsWith('/batch/update'))).toEqual([]);
  });

  it('loses nothing when a worker is SIGKILLed mid-batch: another worker takes its updates over', async () => {
    const sim = await testSimulator({ latencyMs: 1500 });
    const queueName = testQueue('kill');
    const objects = Array.from({ length: 250 }, (_, i) => ({ id: String(2000 + i), properties: {} }));
    sim.createObjects(TOKEN, 'contacts', objects);
    const producer = testProducer(queueName);
    const results = await producer.enqueueMany(
      objects.map((o) => ({ objectType: 'contacts', id: o.id, properties: { firstname: `v-${o.id}` } })),
    );
    const child = spawnWorker({
      QUEUE_NAME: queueName,
      HUBSPOT_BASE_URL: sim.url,
      HUBSPOT_ACCESS_TOKEN: TOKEN,
      LEASE_MS: '2000',
      BATCH_LINGER_MS: '20',
      VALIDATE_PROPERTIES: 'false',
    });
    // Wait until the doomed worker has batches in flight (claimed in Redis), then kill it without warning.
    const redis = (await import('ioredis')).Redis;
    const probe = new redis(redisUrl());
    try {
      await waitFor(async () => (await probe.zcard(queueKeys(queueName).leases)) > 0, {
        what: 'a claimed batch',
      });
    } finally {
      probe.disconnect();
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    await testWorker(queueName, sim, { leaseMs: 2000 });
    const outcomes = await producer.waitForOutcomes(
      results.map((r) => r.objectWriteTraceId),
      { timeoutMs: 60_000 },
    );
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
    for (const o of objects)
      expect(sim.getObject(TOKEN, 'contacts', o.id)?.properties.firstname).toBe(`v-${o.id}`);
  });
});
