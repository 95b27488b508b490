import { describe, expect, it, vi } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import {
  testAdmin,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';
import { onCleanup, testRedis } from '../helpers/resources.js';

const HOUR = 3_600_000;

async function redisNow(): Promise<number> {
  const [seconds, micros] = await testRedis().time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('operator failures and finish times', () => {
  it('fail-account also fails what is in flight, once its call ends, and keeps what the call settled', async () => {
    // Slow calls, so both batches are in flight when the operator acts; the first call to arrive fails (503).
    const sim = await testSimulator({ autoCreate: true, latencyMs: 1_500 });
    const queue = testQueue('fail-inflight');
    const redis = testRedis();
    const keys = queueKeys(queue);
    const admin = testAdmin(queue, { outcomeTtlSeconds: 3600 });
    const producer = testProducer(queue);
    await testWorker(queue, sim, { validateProperties: false });
    // An account's first call goes alone: once it is answered, the two below go out together.
    const [warm] = await producer.enqueueMany([
      { objectType: 'contacts', id: '0', properties: { firstname: 'W' } },
    ]);
    await producer.waitForOutcomes([warm?.objectWriteTraceId ?? '']);
    sim.failNext(1, 'status', { status: 503 });
    const results = await producer.enqueueMany([
      { objectType: 'contacts', id: '1', properties: { firstname: 'Ada' } },
      { objectType: 'companies', id: '2', properties: { name: 'Analytical Engines' } },
    ]);
    await waitFor(
      async () => {
        const batches = await redis.zrange(keys.leases, 0, -1);
        const calls = await Promise.all(batches.map((id) => redis.hget(keys.batch(id), '#calls')));
        return calls.filter((c) => Number(c) >= 1).length === 2;
      },
      { what: 'both calls in flight' },
    );

    const marked = await admin.failAccount('default', { reason: 'credentials revoked for good' });
    const outcomes = await producer.waitForOutcomes(results.map((r) => r.objectWriteTraceId));
    const failed = outcomes.filter((o) => o.status === 'failed');
    expect(outcomes.map((o) => o.status).sort()).toEqual(['failed', 'succeeded']);
    expect(marked).toEqual({ failed: 0, inFlight: 2 });
    // The 503'd update would have been retried: it fails instead, counting the call it had.
    expect(failed[0]).toMatchObject({
      attempts: 1,
      error: { category: 'OPERATOR_FAILED', message: 'credentials revoked for good' },
    });
    await sim.idle();
    expect(sim.calls().filter((c) => c.path.endsWith('/batch/update'))).toHaveLength(3);
    expect(await redis.zcard(keys.delayed)).toBe(0);
    expect(await redis.zcard(keys.failed)).toBe(1);
    expect(await redis.hget(keys.stats, 'failed:OPERATOR_FAILED')).toBe('1');
    expect(await redis.hget(keys.stats, 'inflight')).toBe('0');
  });

  it('takes finish times from Redis’s clock, so a host clock an hour behind cannot finish an update before it was enqueued', async () => {
    const realNow = Date.now.bind(Date);
    const skew = vi.spyOn(Date, 'now').mockImplementation(() => realNow() - HOUR);
    onCleanup(() => skew.mockRestore());
    const sim = await testSimulator({ autoCreate: true });
    const queue = testQueue('finish-clock');
    const redis = testRedis();
    const keys = queueKeys(queue);
    const producer = testProducer(queue);
    const results = await producer.enqueueMany([
      { objectType: 'contacts', id: '1', properties: { firstname: 'Ada' } },
    ]);
    // A job no update can be read from, failed by the worker's own path.
    await redis.hset(keys.jobPrefix + 't-unroutable', 'data', JSON.stringify({ objectType: 'contacts' }));
    await redis.lpush(keys.wait, 't-unroutable');
    await testWorker(queue, sim, { validateProperties: false });

    const outcomes = await producer.waitForOutcomes([results[0]?.objectWriteTraceId as string, 'unroutable']);
    const now = await redisNow();
    for (const o of outcomes) {
      expect(o.finishedAt).toBeGreaterThanOrEqual(o.enqueuedAt);
      // On Redis's clock, not the host's hour-old one.
      expect(Math.abs((o.finishedAt ?? 0) - now)).toBeLessThan(HOUR / 2);
    }
    expect(outcomes.map((o) => o.status)).toEqual(['succeeded', 'failed']);
  });
});
