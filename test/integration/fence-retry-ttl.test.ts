/**
 * A fence outlives the retries of its object still in backoff. A retry waits in the delayed zset, where no later
 * settle of the object looks: a newer update's settle used to give the fence the outcome TTL, and a backoff (or a
 * Retry-After) longer than that TTL then brought the older value back with no fence, over the newer one. Scaled
 * down: an outcome TTL of 1 s against a backoff of 6 s (in production, `OUTCOME_TTL_SECONDS=60` against the default
 * `BACKOFF_MAX_MS` of 5 minutes).
 */
import { describe, expect, it } from 'vitest';
import { objectKeyOf, queueKeys } from '../../src/keys.js';
import { RateLimiter } from '../../src/ratelimit/limiter.js';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker, waitFor } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

const OBJECT = objectKeyOf('default', 'contacts', undefined, '1000');

/** The worker's settings: an outcome TTL of 1 s against a backoff of `backoffMs`. */
const settings = (backoffMs: number) => ({
  maxAttempts: 3,
  backoffBaseMs: backoffMs,
  backoffMaxMs: backoffMs,
  ambiguousHoldMs: 0,
  outcomeTtlSeconds: 1,
  validateProperties: false,
});

async function setUp(label: string, backoffMs = 6000) {
  const sim = await testSimulator();
  sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
  const queueName = testQueue(label);
  const producer = testProducer(queueName);
  const redis = testRedis();
  const keys = queueKeys(queueName);
  // The first call fails (a 5xx): the older update backs off.
  sim.failNext(1, 'error5xx');
  const worker = await testWorker(queueName, sim, settings(backoffMs));
  const older = await producer.enqueue({
    objectType: 'contacts',
    id: '1000',
    properties: { firstname: 'Old' },
  });
  await waitFor(async () => (await producer.getOutcome(older.objectWriteTraceId))?.status === 'retrying', {
    what: 'the older update to back off',
  });
  const newer = await producer.enqueue({
    objectType: 'contacts',
    id: '1000',
    properties: { firstname: 'New' },
  });
  const [landed] = await producer.waitForOutcomes([newer.objectWriteTraceId]);
  expect(landed?.status).toBe('succeeded');
  // The fence stays while the older retry is not due (about 6 s away), not just the outcome TTL (1 s).
  expect(await redis.pttl(keys.landed(OBJECT))).toBe(-1);
  return { sim, producer, redis, keys, older, worker, queueName };
}

describe('a fence and the retries of its object in backoff', () => {
  it('an older retry sent after the newer value landed is fenced off: the newer value stays', async () => {
    const { sim, producer, older } = await setUp('fence-retry');
    const [outcome] = await producer.waitForOutcomes([older.objectWriteTraceId], { timeoutMs: 20_000 });
    expect(outcome?.status).toBe('superseded');
    await sim.idle();
    expect(sim.getObject(TOKEN, 'contacts', '1000')?.properties.firstname).toBe('New');
  }, 30_000);

  it('also while a still newer update waits unclaimed (its account paused) until after the retry is due', async () => {
    const { sim, producer, redis, keys, older } = await setUp('fence-retry-paused');
    const limiter = new RateLimiter({ redis, keys });
    await limiter.pause('default', { durationMs: 7000, reason: 'manual' });
    const third = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      properties: { lastname: 'X' },
    });
    await waitFor(async () => (await redis.zcard(keys.delayed)) === 0, {
      what: 'the older retry to come due',
      timeoutMs: 15_000,
    });
    expect(await redis.hget(keys.landed(OBJECT), 'firstname')).not.toBeNull();
    await limiter.resume('default');
    const outcomes = await producer.waitForOutcomes([older.objectWriteTraceId, third.objectWriteTraceId], {
      timeoutMs: 20_000,
    });
    expect(outcomes.map((o) => o.status)).toEqual(['superseded', 'succeeded']);
    await sim.idle();
    expect(sim.getObject(TOKEN, 'contacts', '1000')?.properties).toMatchObject({
      firstname: 'New',
      lastname: 'X',
    });
  }, 40_000);

  it('also across a worker outage from before the retry is due until after its due time and the TTL', async () => {
    const { sim, producer, redis, keys, older, worker, queueName } = await setUp('fence-retry-outage', 3000);
    // The deployment stops while the retry is in backoff, and stays down past its due time plus the TTL.
    await worker.close();
    const [due] = (await redis.zrange(keys.delayed, 0, 0, 'WITHSCORES')).slice(1).map(Number);
    await waitFor(async () => Number((await redis.time())[0]) * 1000 > (due ?? 0) + 1500, {
      what: 'the due time and the TTL to pass',
      timeoutMs: 10_000,
    });
    expect(await redis.hget(keys.landed(OBJECT), 'firstname')).not.toBeNull();
    await testWorker(queueName, sim, settings(3000));
    const [outcome] = await producer.waitForOutcomes([older.objectWriteTraceId], { timeoutMs: 20_000 });
    expect(outcome?.status).toBe('superseded');
    await sim.idle();
    expect(sim.getObject(TOKEN, 'contacts', '1000')?.properties.firstname).toBe('New');
  }, 40_000);
});
