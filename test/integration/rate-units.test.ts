import { describe, expect, it } from 'vitest';
import { parseRateLimitHeaders } from '../../src/hubspot/headers.js';
import { queueKeys } from '../../src/keys.js';
import type { AccountBudget, Grant } from '../../src/ratelimit/budget.js';
import { RateLimiter } from '../../src/ratelimit/limiter.js';
import { testQueue } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

const ACCOUNT = 'acct-units';
const START = Date.UTC(2026, 2, 1, 12);

/** A limiter on a clock the test moves: every grant time and wait is exact. */
function virtualLimiter() {
  const clock = { now: START };
  const limiter = new RateLimiter({
    redis: testRedis(),
    keys: queueKeys(testQueue('units')),
    now: () => clock.now,
  });
  return { clock, limiter };
}

/** Acquires, moving the clock by each wait; returns the grant and how long it waited. */
async function nextGrant(
  limiter: RateLimiter,
  clock: { now: number },
  budget: AccountBudget,
): Promise<{ grant: Grant; waitedMs: number }> {
  const from = clock.now;
  for (;;) {
    const result = await limiter.acquire(ACCOUNT, budget);
    if (result.granted) return { grant: result, waitedMs: clock.now - from };
    if (result.reason !== 'window') throw new Error(`unexpected wait reason ${result.reason}`);
    clock.now += result.waitMs;
  }
}

describe('rate-limit units', () => {
  it('compares limits as rates: 10 per 1 s configured against HubSpot’s 10-s window is 100 per 10 s, not 10', async () => {
    const { clock, limiter } = virtualLimiter();
    const budget: AccountBudget = { maxRequests: 10, windowMs: 1_000 };
    const first = await nextGrant(limiter, clock, budget);
    await limiter.report(ACCOUNT, first.grant, { max: 100, remaining: 99, intervalMs: 10_000 }, budget);
    const times = [first.grant.at];
    while (clock.now < START + 10_000) times.push((await nextGrant(limiter, clock, budget)).grant.at);
    const inFirstWindow = times.filter((t) => t < START + 10_000).length;
    expect(inFirstWindow).toBeGreaterThanOrEqual(95);
    expect(inFirstWindow).toBeLessThanOrEqual(100);
    expect(await limiter.state(ACCOUNT, budget)).toMatchObject({
      effectiveMax: 100,
      reportedIntervalMs: 10_000,
    });
  });

  it('keeps the tighter rate: HubSpot’s 100 per 10 s caps a budget of 50 per 1 s', async () => {
    const { clock, limiter } = virtualLimiter();
    const budget: AccountBudget = { maxRequests: 50, windowMs: 1_000 };
    const first = await nextGrant(limiter, clock, budget);
    await limiter.report(ACCOUNT, first.grant, { max: 100, remaining: 99, intervalMs: 10_000 }, budget);
    await nextGrant(limiter, clock, budget);
    expect(await limiter.state(ACCOUNT, budget)).toMatchObject({ effectiveMax: 100 });
  });

  it('ignores an absurd Interval header: one answer claiming a day-long window does not stall the account', async () => {
    const { clock, limiter } = virtualLimiter();
    const budget: AccountBudget = { maxRequests: 100, windowMs: 10_000 };
    const first = await nextGrant(limiter, clock, budget);
    const snapshot = parseRateLimitHeaders({
      'x-hubspot-ratelimit-max': '100',
      'x-hubspot-ratelimit-remaining': '99',
      'x-hubspot-ratelimit-interval-milliseconds': '86400000',
    });
    await limiter.report(ACCOUNT, first.grant, snapshot, budget);
    for (let i = 0; i < 5; i++) {
      // Paced at about 10 s / 100, as before the answer.
      expect((await nextGrant(limiter, clock, budget)).waitedMs).toBeLessThan(200);
    }
    expect((await limiter.state(ACCOUNT, budget)).reportedIntervalMs).toBeUndefined();
  });
});
