/**
 * Priority lanes end to end, against the simulator at 10 calls per second: where an interactive update goes in the
 * call log behind a bulk backlog of its account, that fencing follows the enqueue order whatever the lanes, and
 * that one account's interactive flood leaves another account's bulk work going.
 */
import { describe, expect, it } from 'vitest';
import { jobIdFor, queueKeys } from '../../src/keys.js';
import { FaultKind } from '../../src/simulator/types.js';
import type { UpdateRequest } from '../../src/update.js';
import { runCli, testProducer, testQueue, testSimulator, testWorker, waitFor } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

/** 10 calls per second, on both sides: the simulator's portals and the worker's budget. */
const RATE = { maxRequests: 10, windowMs: 1000 };

function objects(n: number, from = 1): Array<{ id: string; properties: Record<string, string> }> {
  return Array.from({ length: n }, (_, i) => ({ id: String(from + i), properties: {} }));
}

function traceOf(r: { objectWriteTraceId: string } | undefined): string {
  if (!r) throw new Error('enqueue answered nothing');
  return r.objectWriteTraceId;
}

describe('priority lanes', () => {
  it('the wire format carries the lane: enqueue takes "priority" in NDJSON and names the field of a bad value', async () => {
    const queue = testQueue('lanes-cli');
    const line = (priority: unknown, trace: string) =>
      JSON.stringify({
        objectType: 'contacts',
        id: '1',
        properties: { city: 'x' },
        priority,
        objectWriteTraceId: trace,
      });
    const bad = await runCli(
      ['enqueue'],
      { QUEUE_NAME: queue },
      `${line('bulk', 'l-1')}\n${line('urgent', 'l-2')}\n`,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^line 2: priority: must be "interactive" or "bulk"$/m);
    expect(bad.stderr).not.toMatch(/line 1:/);

    const good = await runCli(['enqueue'], { QUEUE_NAME: queue }, `${line('interactive', 'l-3')}\n`);
    expect(good.code).toBe(0);
    const data = await testRedis().hget(queueKeys(queue).job(jobIdFor('l-3')), 'data');
    expect(JSON.parse(data ?? '{}')).toMatchObject({ priority: 'interactive', objectWriteTraceId: 'l-3' });
    const [queued] = await testProducer(queue).getOutcomes(['l-3']);
    expect(queued).toMatchObject({ status: 'queued', priority: 'interactive' });
  });

  it('an interactive update behind a bulk backlog of its account goes out in the next calls, with the bulk work', async () => {
    const sim = await testSimulator({ defaultRateLimit: RATE });
    sim.createObjects('tok-a', 'contacts', objects(3001));
    const queue = testQueue('lanes-jump');
    const producer = testProducer(queue);
    const bulk: UpdateRequest[] = objects(3000).map((o) => ({
      account: 'a',
      objectType: 'contacts',
      id: o.id,
      properties: { city: `bulk-${o.id}` },
    }));
    const bulkTraces = (await producer.enqueueMany(bulk)).map(traceOf);
    await testWorker(queue, sim, {
      accounts: { a: { token: 'tok-a', ...RATE } },
      validateProperties: false,
    });
    // The backlog (30 full calls, 3 s at this rate) is under way.
    await waitFor(() => sim.calls().length >= 3, { what: 'the first bulk calls' });

    const before = sim.calls().length;
    const urgent = traceOf(
      await producer.enqueue({
        account: 'a',
        objectType: 'contacts',
        id: '3001',
        properties: { city: 'now' },
        priority: 'interactive',
      }),
    );
    const [outcome] = await producer.waitForOutcomes([urgent]);
    expect(outcome).toMatchObject({ status: 'succeeded', priority: 'interactive' });
    expect(sim.getObject('tok-a', 'contacts', '3001')?.properties.city).toBe('now');

    const calls = sim.calls();
    const carrier = calls.find((c) => c.traceIds.includes(urgent));
    if (!carrier) throw new Error('no call carried the interactive update');
    // At most the call in flight and one claimed ahead of its grant were before it; a FIFO would have put it last.
    expect(carrier.seq).toBeLessThanOrEqual(before + 3);
    // It did not cost a call of its own: the call was filled with bulk work.
    expect(carrier.inputCount).toBe(100);

    const done = await producer.waitForOutcomes(bulkTraces, { timeoutMs: 30_000 });
    expect(done.every((o) => o.status === 'succeeded')).toBe(true);
    expect(done.every((o) => o.priority === undefined)).toBe(true);
    // The backlog still went on after it: the interactive update jumped the queue, it did not wait for it.
    expect(sim.calls().filter((c) => c.seq > carrier.seq).length).toBeGreaterThan(20);
  });

  it('fences by enqueue order whatever the lanes: each property ends at the value enqueued last', async () => {
    const sim = await testSimulator({ defaultRateLimit: RATE });
    sim.createObjects('tok-a', 'contacts', objects(40));
    const queue = testQueue('lanes-fence');
    const producer = testProducer(queue);
    await testWorker(queue, sim, {
      accounts: { a: { token: 'tok-a', ...RATE } },
      validateProperties: false,
    });
    // Calls that may have applied (a 504 after the write, a reset after it) bring retries and holds into it.
    sim.failNext(2, FaultKind.ambiguous504);
    sim.failNext(1, FaultKind.resetAfterApply);

    // A seeded stream of updates of 40 objects, lanes mixed, enqueued in rounds while the worker sends.
    let state = 7;
    const random = (n: number) => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state % n;
    };
    const last = new Map<string, string>();
    const traces: string[] = [];
    for (let round = 0; round < 8; round++) {
      const updates: UpdateRequest[] = [];
      for (let i = 0; i < 150; i++) {
        const id = String(1 + random(40));
        const prop = random(2) === 0 ? 'city' : 'firstname';
        const value = `r${round}-${i}`;
        last.set(`${id}/${prop}`, value);
        updates.push({
          account: 'a',
          objectType: 'contacts',
          id,
          properties: { [prop]: value },
          ...(random(3) === 0 ? { priority: 'interactive' as const } : {}),
        });
      }
      traces.push(...(await producer.enqueueMany(updates)).map(traceOf));
      const callsSoFar = sim.calls().length;
      await waitFor(() => sim.calls().length > callsSoFar, { what: `a call after round ${round}` });
    }

    const outcomes = await producer.waitForOutcomes(traces, { timeoutMs: 40_000 });
    expect(outcomes.filter((o) => o.status === 'failed')).toEqual([]);
    expect(outcomes.some((o) => o.priority === 'interactive')).toBe(true);
    await sim.idle();
    for (const [key, value] of last) {
      const [id = '', prop = ''] = key.split('/');
      expect(sim.getObject('tok-a', 'contacts', id)?.properties[prop], key).toBe(value);
    }
  });

  it("one account's interactive flood does not starve another account's bulk work", async () => {
    const sim = await testSimulator({ defaultRateLimit: RATE });
    sim.createObjects('tok-a', 'contacts', objects(2000));
    sim.createObjects('tok-b', 'contacts', objects(500));
    const queue = testQueue('lanes-fair');
    const producer = testProducer(queue);
    const flood = (
      await producer.enqueueMany(
        objects(2000).map((o) => ({
          account: 'a',
          objectType: 'contacts',
          id: o.id,
          properties: { city: 'flood' },
          priority: 'interactive' as const,
        })),
      )
    ).map(traceOf);
    const bulk = (
      await producer.enqueueMany(
        objects(500).map((o) => ({
          account: 'b',
          objectType: 'contacts',
          id: o.id,
          properties: { city: 'bulk' },
        })),
      )
    ).map(traceOf);
    // Two batches in flight at most: the accounts compete for the worker, not only for their own budgets.
    await testWorker(queue, sim, {
      accounts: { a: { token: 'tok-a', ...RATE }, b: { token: 'tok-b', ...RATE } },
      concurrency: 2,
      validateProperties: false,
    });

    const outcomesB = await producer.waitForOutcomes(bulk, { timeoutMs: 30_000 });
    expect(outcomesB.every((o) => o.status === 'succeeded')).toBe(true);
    const outcomesA = await producer.waitForOutcomes(flood, { timeoutMs: 30_000 });
    expect(outcomesA.every((o) => o.status === 'succeeded')).toBe(true);

    // Account b's five calls went out among account a's twenty, not after them: b was done before a's tenth.
    const calls = sim.calls();
    const ofA = calls.filter((c) => c.portal === 'tok-a');
    const ofB = calls.filter((c) => c.portal === 'tok-b');
    expect(ofA).toHaveLength(20);
    expect(ofB).toHaveLength(5);
    expect(Math.max(...ofB.map((c) => c.seq))).toBeLessThan(ofA[9]?.seq ?? 0);
  });
});
