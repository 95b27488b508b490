import { describe, expect, it } from 'vitest';
import { expectedFinalState, generateWorkload } from '../../src/simulator/workload.js';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker } from '../helpers/pipeline.js';
import { seedWorkload } from '../helpers/workload.js';

describe('pipeline: enqueue → coalesce → batch update → outcome', () => {
  it('drains a 3,000-update backlog with full batches, no 429, and HubSpot ends at the last enqueued values', async () => {
    const sim = await testSimulator();
    const queue = testQueue('drain');
    const workload = generateWorkload({
      updates: 3000,
      objectsPerType: 900,
      idPropertyShare: 0.2,
      missingShare: 0.01,
      seed: 7,
    });
    seedWorkload(sim, workload);
    const producer = testProducer(queue);
    const results = await producer.enqueueMany(workload.updates);
    const ids = results.map((r) => r.objectWriteTraceId);

    await testWorker(queue, sim);
    const outcomes = await producer.waitForOutcomes(ids, { timeoutMs: 60_000 });

    // Every update has a terminal outcome; the missing objects failed with HubSpot's category.
    outcomes.forEach((o, i) => {
      if (workload.expectedFailures.has(i)) {
        expect(o.status, `update ${i}`).toBe('failed');
        expect(o.error?.category).toBe('OBJECT_NOT_FOUND');
      } else {
        expect(['succeeded', 'superseded'], `update ${i}: ${JSON.stringify(o)}`).toContain(o.status);
      }
    });

    // HubSpot's final state equals the last enqueued value of every property.
    for (const [key, props] of expectedFinalState(workload)) {
      const [type, id] = key.split('|') as [string, string];
      const stored = sim.getObject(TOKEN, type, id);
      for (const [prop, value] of Object.entries(props))
        expect(stored?.properties[prop], `${key}.${prop}`).toBe(value);
    }

    const calls = sim.calls().filter((c) => c.path.endsWith('/batch/update'));
    for (const c of calls) {
      expect(c.inputCount).toBeLessThanOrEqual(100);
      const sent = c.ids.map((id, i) => `${c.idProperties[i] ?? ''}|${id}`);
      expect(new Set(sent).size, 'duplicate ids in one batch').toBe(sent.length);
    }
    const inputs = calls.reduce((n, c) => n + c.inputCount, 0);
    console.info(
      `drain: 3000 updates, ${calls.length} batch calls, ${(inputs / calls.length).toFixed(1)} inputs per call, ${calls.filter((c) => c.status === 429).length} 429s`,
    );
    expect(calls.length).toBeLessThanOrEqual(Math.ceil(3000 / 100));
    expect(calls.filter((c) => c.status === 429)).toHaveLength(0);
  });

  it("keeps an older key's SECONDLY limit once HubSpot reports it: no 429 while draining", async () => {
    // 40 calls per 2 s, and 4 per 200 ms (Secondly = Max / 10); the even pace alone would put 4 or 5 in 200 ms.
    const sim = await testSimulator({
      portals: { [TOKEN]: { portalId: 'old-key', maxRequests: 40, windowMs: 2_000, policyName: 'SECONDLY' } },
      latencyMs: 5,
      autoCreate: true,
    });
    const queue = testQueue('secondly');
    const producer = testProducer(queue);
    const updates = Array.from({ length: 3_000 }, (_, i) => ({
      objectType: 'contacts',
      id: String(5_000 + i),
      properties: { firstname: `s${i}` },
    }));
    const ids = (await producer.enqueueMany(updates)).map((r) => r.objectWriteTraceId);
    await testWorker(queue, sim, {
      accounts: { default: { token: TOKEN, maxRequests: 40, windowMs: 2_000 } },
    });
    const outcomes = await producer.waitForOutcomes(ids, { timeoutMs: 60_000 });

    expect(outcomes.filter((o) => o.status !== 'succeeded')).toEqual([]);
    const calls = sim.calls().filter((c) => c.path.endsWith('/batch/update'));
    expect(calls.filter((c) => c.status === 429)).toEqual([]);
    expect(calls.length).toBe(30);
  });

  it('merges updates to the same object and records an outcome for every merged update', async () => {
    const sim = await testSimulator();
    const queue = testQueue('merge');
    sim.createObjects(TOKEN, 'contacts', [{ id: '501', properties: { email: 'a@example.com' } }]);
    const producer = testProducer(queue);
    const [a, b, c] = await producer.enqueueMany([
      { objectType: 'contacts', id: '501', properties: { firstname: 'Ada', city: 'Paris' } },
      { objectType: 'contacts', id: '501', properties: { firstname: 'Grace' } },
      { objectType: 'contacts', id: '501', properties: { city: 'Oslo' } },
    ]);
    await testWorker(queue, sim);
    const outcomes = await producer.waitForOutcomes([a, b, c].map((r) => r?.objectWriteTraceId ?? ''));
    // `a` was fully overridden within the merge; `b` and `c` each wrote a property.
    expect(outcomes.map((o) => o.status)).toEqual(['superseded', 'succeeded', 'succeeded']);
    expect(sim.getObject(TOKEN, 'contacts', '501')?.properties).toMatchObject({
      firstname: 'Grace',
      city: 'Oslo',
    });
    const calls = sim.calls().filter((x) => x.path.endsWith('/batch/update'));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.inputCount).toBe(1);
  });

  it('is idempotent: enqueueing a trace id twice is one update, before and after it finished', async () => {
    const sim = await testSimulator();
    const queue = testQueue('idem');
    sim.createObjects(TOKEN, 'contacts', [{ id: '601', properties: {} }]);
    const producer = testProducer(queue);
    const update = {
      objectType: 'contacts',
      id: '601',
      properties: { firstname: 'Once' },
      objectWriteTraceId: 'idem-1',
    };
    const [first, second] = await producer.enqueueMany([update, update]);
    expect(first?.duplicate).toBe(false);
    expect(second?.duplicate).toBe(true);
    await testWorker(queue, sim);
    const [outcome] = await producer.waitForOutcomes(['idem-1']);
    expect(outcome?.status).toBe('succeeded');
    expect(outcome?.attempts).toBe(1);
    const again = await producer.enqueue(update);
    expect(again.duplicate).toBe(true);
    expect(await producer.getOutcome('idem-1')).toMatchObject({ status: 'succeeded', attempts: 1 });
  });
});
