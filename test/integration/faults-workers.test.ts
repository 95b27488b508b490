import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import type { Simulator } from '../../src/simulator/index.js';
import type { UpdateRequest } from '../../src/update.js';
import { spawnWorker, TOKEN, testProducer, testQueue, testSimulator, waitFor } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';
import { assertDrained, countBy, staleProperties } from '../helpers/truth.js';

const workerEnv = (queueName: string, sim: Simulator, extra: Record<string, string> = {}) => ({
  QUEUE_NAME: queueName,
  HUBSPOT_BASE_URL: sim.url,
  HUBSPOT_ACCESS_TOKEN: TOKEN,
  RATE_LIMIT_MAX: '1000',
  BATCH_LINGER_MS: '50',
  BACKOFF_BASE_MS: '100',
  BACKOFF_MAX_MS: '1000',
  VALIDATE_PROPERTIES: 'false',
  ...extra,
});

const workerIdOf = (pid: number | undefined) => `${pid}-`;

function exitOf(child: ReturnType<typeof spawnWorker>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** The batches a worker holds now, with the trace ids of their updates and whether a call went out. */
async function batchesOf(
  redis: Redis,
  queueName: string,
  pid: number | undefined,
): Promise<Array<{ id: string; traces: string[]; calls: number }>> {
  const k = queueKeys(queueName);
  const out: Array<{ id: string; traces: string[]; calls: number }> = [];
  for (const id of await redis.zrange(k.leases, 0, -1)) {
    const fields = await redis.hgetall(k.batch(id));
    if (!fields['#worker']?.startsWith(workerIdOf(pid))) continue;
    const traces: string[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (field.startsWith('#')) continue;
      for (const entry of value.split('\n')) traces.push(entry.replace(/^\d+:\d+:\d+:t-/, ''));
    }
    out.push({ id, traces, calls: Number(fields['#calls'] ?? 0) });
  }
  return out;
}

/** Arrival times (ms) of the batch calls that carried each trace id. */
function sendsOf(sim: Simulator): Map<string, number[]> {
  const sends = new Map<string, number[]>();
  for (const c of sim.calls()) {
    if (!c.path.endsWith('/batch/update')) continue;
    for (const t of c.traceIds) if (t !== null) sends.set(t, [...(sends.get(t) ?? []), c.at]);
  }
  return sends;
}

describe('HubSpot applying a call after the client gave up', () => {
  it('hot objects written at 500 updates/s while a quarter of calls apply 3 s after arrival: no property ends stale', async () => {
    const sim = await testSimulator({
      seed: 31,
      latencyMs: { min: 5, max: 20 },
      defaultRateLimit: { maxRequests: 1000, windowMs: 10_000 },
      faults: { lateApply: 0.25, lateApplyMs: 3000 },
    });
    const objects = Array.from({ length: 1000 }, (_, i) => String(9000 + i));
    sim.createObjects(
      TOKEN,
      'contacts',
      objects.map((id) => ({ id, properties: {} })),
    );
    const queueName = testQueue('late-apply');
    const producer = testProducer(queueName);
    const env = workerEnv(queueName, sim, { HTTP_TIMEOUT_MS: '1000', AMBIGUOUS_HOLD_MS: '5000' });
    spawnWorker(env);
    spawnWorker(env);
    // 5,000 updates over about 10 s, 50 every 100 ms, each setting one of two properties of a hot object.
    const expected = new Map<string, Record<string, string>>();
    const ids: string[] = [];
    for (let tick = 0; tick < 100; tick++) {
      const batch: UpdateRequest[] = [];
      for (let j = 0; j < 50; j++) {
        const n = tick * 50 + j;
        const id = objects[(n * 7919) % objects.length] as string;
        const prop = n % 3 === 0 ? 'lastname' : 'firstname';
        batch.push({ objectType: 'contacts', id, properties: { [prop]: `v${n}` } });
        expected.set(`contacts|${id}`, { ...expected.get(`contacts|${id}`), [prop]: `v${n}` });
      }
      ids.push(...(await producer.enqueueMany(batch)).map((r) => r.objectWriteTraceId));
      await new Promise((r) => setTimeout(r, 100));
    }
    const outcomes = await producer.waitForOutcomes(ids, { timeoutMs: 120_000 });
    await sim.idle();
    const late = sim.calls().filter((c) => c.fault === 'lateApply').length;
    console.info(
      `late applies: ${ids.length} updates, ${late} calls applied 3 s late, outcomes ${JSON.stringify(countBy(outcomes))}`,
    );
    expect(late).toBeGreaterThan(5);
    expect(outcomes.filter((o) => o.status === 'failed')).toEqual([]);
    const stale = staleProperties(sim, expected);
    expect(stale).toEqual([]);
    await assertDrained(testRedis(), queueName);
  }, 150_000);
});

describe('a replica that dies or freezes', () => {
  it('SIGKILLed during 1.5-s calls: its batches are sent again within 10 s and nothing is lost', async () => {
    const sim = await testSimulator({ seed: 32, latencyMs: 1500, defaultRateLimit: { maxRequests: 1000 } });
    const objects = Array.from({ length: 4000 }, (_, i) => String(20_000 + i));
    sim.createObjects(
      TOKEN,
      'contacts',
      objects.map((id) => ({ id, properties: {} })),
    );
    const queueName = testQueue('kill');
    const producer = testProducer(queueName);
    const results = await producer.enqueueMany(
      objects.map((id) => ({ objectType: 'contacts', id, properties: { firstname: `k-${id}` } })),
    );
    const doomed = spawnWorker(workerEnv(queueName, sim));
    spawnWorker(workerEnv(queueName, sim));
    const redis = testRedis();
    let held: Awaited<ReturnType<typeof batchesOf>> = [];
    await waitFor(
      async () => {
        held = (await batchesOf(redis, queueName, doomed.pid)).filter((b) => b.calls > 0);
        return held.length > 0;
      },
      { what: 'the doomed worker to have calls out' },
    );
    doomed.kill('SIGKILL');
    const killedAt = Date.now();
    await exitOf(doomed);
    const traces = held.flatMap((b) => b.traces);
    await waitFor(
      () => {
        const sends = sendsOf(sim);
        return traces.every((t) => (sends.get(t) ?? []).some((at) => at > killedAt));
      },
      { what: 'the dead worker’s batches sent again', timeoutMs: 60_000 },
    );
    const resentAfterMs = Date.now() - killedAt;
    const outcomes = await producer.waitForOutcomes(
      results.map((r) => r.objectWriteTraceId),
      { timeoutMs: 60_000 },
    );
    console.info(
      `SIGKILL: ${held.length} batches (${traces.length} updates) of the dead worker sent again ${resentAfterMs} ms after the kill; outcomes ${JSON.stringify(countBy(outcomes))}`,
    );
    expect(resentAfterMs, 'a dead replica’s batches go out again within 10 s').toBeLessThan(10_000);
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
    for (const t of traces) {
      const o = outcomes.find((x) => x.objectWriteTraceId === t);
      // The lost call may have applied: it is counted as an attempt, and the update was sent once more.
      expect(o?.attempts, t).toBe(2);
    }
    for (const id of objects)
      expect(sim.getObject(TOKEN, 'contacts', id)?.properties.firstname).toBe(`k-${id}`);
    await assertDrained(redis, queueName);
  }, 120_000);

  it('SIGSTOPped mid-call past its lease, then SIGCONT: it does not settle the batch it lost', async () => {
    const sim = await testSimulator({ seed: 33, latencyMs: 3000 });
    const objects = Array.from({ length: 100 }, (_, i) => String(30_000 + i));
    sim.createObjects(
      TOKEN,
      'contacts',
      objects.map((id) => ({ id, properties: {} })),
    );
    const queueName = testQueue('stop-mid-call');
    const producer = testProducer(queueName);
    const results = await producer.enqueueMany(
      objects.map((id) => ({ objectType: 'contacts', id, properties: { firstname: `s-${id}` } })),
    );
    const env = workerEnv(queueName, sim, { LEASE_MS: '2000', LOG_LEVEL: 'warn' });
    const frozen = spawnWorker(env);
    const redis = testRedis();
    await waitFor(async () => (await batchesOf(redis, queueName, frozen.pid)).some((b) => b.calls > 0), {
      what: 'the call to go out',
    });
    frozen.kill('SIGSTOP');
    const other = spawnWorker(env);
    const traces = results.map((r) => r.objectWriteTraceId);
    const outcomes = await producer.waitForOutcomes(traces, { timeoutMs: 60_000 });
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
    frozen.kill('SIGCONT');
    // Once thawed it reads the answer to its old call and must find the batch taken back.
    await waitFor(() => (frozen as unknown as { output: string }).output.includes('lease was lost'), {
      what: 'the thawed worker to give the batch up',
    });
    const stats = await redis.hgetall(queueKeys(queueName).stats);
    expect(Number(stats.succeeded), 'each outcome written once').toBe(objects.length);
    for (const o of outcomes) expect(o.attempts).toBe(2);
    for (const id of objects)
      expect(sim.getObject(TOKEN, 'contacts', id)?.properties.firstname).toBe(`s-${id}`);
    for (const w of [frozen, other]) w.kill('SIGTERM');
    expect(await Promise.all([exitOf(frozen), exitOf(other)])).toEqual([0, 0]);
    await assertDrained(redis, queueName);
  }, 90_000);

  it('SIGSTOPped before its call past its lease, then SIGCONT: it never sends the batch it lost', async () => {
    const sim = await testSimulator({ seed: 34, latencyMs: 5 });
    const objects = Array.from({ length: 100 }, (_, i) => String(40_000 + i));
    sim.createObjects(
      TOKEN,
      'contacts',
      objects.map((id) => ({ id, properties: {} })),
    );
    // Its first call meets a 429 asking for 1 s (the longest pause a batch waits out holding its claim): the
    // batch waits that out, and is frozen then.
    sim.failNext(1, 'status', {
      status: 429,
      headers: { 'Retry-After': '1' },
      body: {
        status: 'error',
        message: 'You have reached your ten_secondly_rolling limit.',
        policyName: 'TEN_SECONDLY_ROLLING',
      },
    });
    const queueName = testQueue('stop-before-call');
    const producer = testProducer(queueName);
    const results = await producer.enqueueMany(
      objects.map((id) => ({ objectType: 'contacts', id, properties: { firstname: `b-${id}` } })),
    );
    const env = workerEnv(queueName, sim, { LEASE_MS: '6000', LOG_LEVEL: 'warn' });
    const frozen = spawnWorker(env);
    await waitFor(() => sim.calls().some((c) => c.status === 429), { what: 'the 429' });
    frozen.kill('SIGSTOP');
    const other = spawnWorker(env);
    const traces = results.map((r) => r.objectWriteTraceId);
    const outcomes = await producer.waitForOutcomes(traces, { timeoutMs: 60_000 });
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
    const callsBefore = sim.calls().length;
    frozen.kill('SIGCONT');
    await waitFor(() => (frozen as unknown as { output: string }).output.includes('lease lost'), {
      what: 'the thawed worker to give the batch up',
    });
    // The 429'd call and the other worker's call: never a third one from the thawed worker.
    for (const t of traces) expect(sendsOf(sim).get(t)?.length, t).toBe(2);
    expect(sim.calls().length).toBe(callsBefore);
    for (const w of [frozen, other]) w.kill('SIGTERM');
    expect(await Promise.all([exitOf(frozen), exitOf(other)])).toEqual([0, 0]);
    await assertDrained(testRedis(), queueName);
  }, 90_000);
});
