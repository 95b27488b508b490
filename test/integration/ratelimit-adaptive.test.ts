import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import type { AccountBudget, AcquireResult, Grant } from '../../src/ratelimit/budget.js';
import { DEFAULT_GAINS, smoothOutsideUsage } from '../../src/ratelimit/estimate.js';
import { RateLimiter, type RateLimiterOptions } from '../../src/ratelimit/limiter.js';
import { cleanupQueue, testRedis, uniqueQueueName } from '../helpers/resources.js';

// These tests drive the scripts with a virtual clock, so they check exact times without sleeping.
const ACCOUNT = 'acct-1';
const BUDGET: AccountBudget = { maxRequests: 10, windowMs: 500 };

function virtualLimiter(start = Date.UTC(2026, 2, 1, 12), options: Partial<RateLimiterOptions> = {}) {
  const clock = { now: start };
  const queue = uniqueQueueName('ratelimit');
  cleanupQueue(queue);
  const limiter = new RateLimiter({
    redis: testRedis(),
    keys: queueKeys(queue),
    now: () => clock.now,
    ...options,
  });
  return { clock, limiter };
}

function expectGrant(result: AcquireResult): Grant {
  if (!result.granted)
    throw new Error(`expected a grant, got a wait of ${result.waitMs} ms (${result.reason})`);
  return result;
}

/** Acquires as soon as allowed, advancing the clock by each wait; returns the grant. */
async function nextGrant(
  limiter: RateLimiter,
  clock: { now: number },
  budget: AccountBudget,
): Promise<Grant> {
  for (;;) {
    const result = await limiter.acquire(ACCOUNT, budget);
    if (result.granted) return result;
    if (result.reason !== 'window') throw new Error(`unexpected wait reason ${result.reason}`);
    clock.now += result.waitMs;
  }
}

describe('RateLimiter waits', () => {
  it('names the exact time a slot opens', async () => {
    const { clock, limiter } = virtualLimiter();
    for (let i = 0; i < 40; i++) {
      const result = await limiter.acquire(ACCOUNT, BUDGET);
      if (result.granted) continue;
      const opensAt = clock.now + result.waitMs;
      clock.now = opensAt - 1;
      expect((await limiter.acquire(ACCOUNT, BUDGET)).granted).toBe(false);
      clock.now = opensAt;
      expectGrant(await limiter.acquire(ACCOUNT, BUDGET));
    }
  });

  it('keeps an anchored schedule: a caller up to catchUpMs late takes the slots it missed, a later one forfeits them', async () => {
    const { clock, limiter } = virtualLimiter(undefined, { catchUpMs: 300 });
    // 10 per 500 ms, margin 15, lag min(20, 500 / 500) = 1: slots (515 + 1) / 10 apart, at least a quarter apart.
    const interval = 516 / 10;
    const t0 = clock.now;
    const first = expectGrant(await limiter.acquire(ACCOUNT, BUDGET)).at;
    expect(first).toBe(t0);
    // On time: a grant at every slot, never before it. The schedule starts at the first grant less the lag.
    const slot = (k: number) => Math.ceil(t0 - 1 + k * interval);
    for (let k = 1; k < 8; k++) {
      clock.now = slot(k) - 1;
      expect((await limiter.acquire(ACCOUNT, BUDGET)).granted).toBe(false);
      clock.now = slot(k);
      expectGrant(await limiter.acquire(ACCOUNT, BUDGET));
    }
    // A caller 3.5 slots late (under catchUpMs) takes the slots it missed, a quarter interval apart...
    clock.now = Math.ceil(t0 + 11.5 * interval);
    const times = [expectGrant(await limiter.acquire(ACCOUNT, BUDGET)).at];
    for (let i = 0; i < 8; i++) times.push((await nextGrant(limiter, clock, BUDGET)).at);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (const gap of gaps.slice(0, 3)) expect(gap).toBe(Math.ceil(interval / 4));
    // ...until it is back on the schedule, whose slots did not move.
    expect(times.at(-1)).toBe(slot(16));
    for (const gap of gaps.slice(-3)) expect(gap).toBeGreaterThanOrEqual(Math.floor(interval));

    // One later than catchUpMs forfeits the missed slots: the schedule starts again from it (keeping the lag it
    // may take), with no burst.
    clock.now = times.at(-1)! + 1000;
    const restart = expectGrant(await limiter.acquire(ACCOUNT, BUDGET)).at;
    const after = await nextGrant(limiter, clock, BUDGET);
    expect(after.at - restart).toBe(Math.ceil(interval - 1));
  });
});

describe('RateLimiter reservations', () => {
  it('reserves a slot opening within reserveMs for its own time, and the next caller the slot after', async () => {
    const { clock, limiter } = virtualLimiter();
    const interval = 516 / 10;
    const t0 = clock.now;
    expectGrant(await limiter.acquire(ACCOUNT, BUDGET));
    // The next slot is about an interval away: within 100 ms it is reserved now, for its time.
    const first = expectGrant(await limiter.acquire(ACCOUNT, BUDGET, 100));
    expect(first.at).toBeGreaterThan(t0);
    expect(first.at - t0).toBeCloseTo(interval - 1, -0.5);
    expect(first.localAt - Date.now()).toBeGreaterThan(first.at - t0 - 25);
    const second = expectGrant(await limiter.acquire(ACCOUNT, BUDGET, 200));
    expect(second.at - first.at).toBeCloseTo(interval, -0.5);
    // A slot further off than reserveMs is not reserved: the wait is given instead.
    const third = await limiter.acquire(ACCOUNT, BUDGET, 50);
    expect(third.granted).toBe(false);
    // Reservations fill the window like grants: never more than max in any guarded window.
    const grants = [t0, first.at, second.at];
    for (let i = 0; i < 30; i++) {
      const r = await limiter.acquire(ACCOUNT, BUDGET, 10_000);
      if (r.granted) grants.push(r.at);
    }
    grants.sort((a, b) => a - b);
    for (let i = 10; i < grants.length; i++) expect(grants[i]! - grants[i - 10]!).toBeGreaterThanOrEqual(515);
  });
});

describe('RateLimiter adapting to HubSpot reports', () => {
  it('lowers effectiveMax when others spend the budget, and recovers once they stop', async () => {
    // Without pacing, so grants need no time to pass (which would decay the estimate).
    const { clock, limiter } = virtualLimiter(undefined, { spacingFactor: 0, catchUpMs: 1e15 });
    const grant = expectGrant(await limiter.acquire(ACCOUNT, BUDGET));
    expect((await limiter.state(ACCOUNT)).effectiveMax).toBe(10);

    // HubSpot counted 8 calls in its window, one of them ours: 7 came from elsewhere.
    await limiter.report(ACCOUNT, grant, { max: 10, remaining: 2, intervalMs: 500 }, BUDGET);
    const lowered = await limiter.state(ACCOUNT);
    expect(lowered.outsideUsageEstimate).toBeCloseTo(3.5, 9);
    expect(lowered.effectiveMax).toBe(5);
    expect(lowered).toMatchObject({ reportedMax: 10, reportedRemaining: 2, observedAt: grant.at });

    // The lowered max holds for acquire: 5 grants per guarded window.
    for (let i = 0; i < 4; i++) expectGrant(await limiter.acquire(ACCOUNT, BUDGET));
    expect(await limiter.acquire(ACCOUNT, BUDGET)).toMatchObject({
      granted: false,
      reason: 'window',
      waitMs: 515,
    });

    // Without further reports the estimate is held one window, then halves every window.
    clock.now += 5 * 500;
    const recovered = await limiter.state(ACCOUNT);
    expect(recovered.outsideUsageEstimate).toBeLessThan(0.5);
    expect(recovered.effectiveMax).toBe(10);
  });

  it('lowers the estimate with reports showing no outside use', async () => {
    const { clock, limiter } = virtualLimiter();
    const first = expectGrant(await limiter.acquire(ACCOUNT, BUDGET));
    await limiter.report(ACCOUNT, first, { max: 10, remaining: 1 }, BUDGET);
    const high = (await limiter.state(ACCOUNT)).outsideUsageEstimate;
    let estimate = high;
    for (let i = 0; i < 8; i++) {
      const grant = await nextGrant(limiter, clock, BUDGET);
      const ours = (await limiter.state(ACCOUNT)).grantsInWindow;
      // HubSpot now counts only our calls (its window is the raw one, ours the guarded one: at most equal).
      await limiter.report(ACCOUNT, grant, { max: 10, remaining: 10 - Math.min(ours, 10) }, BUDGET);
      const next = (await limiter.state(ACCOUNT)).outsideUsageEstimate;
      expect(next).toBeLessThanOrEqual(estimate);
      estimate = next;
    }
    expect(estimate).toBeLessThan(high / 4);
  });

  it('computes the estimate exactly as the TypeScript mirror does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ gapMs: fc.integer({ min: 0, max: 3_000 }), used: fc.integer({ min: 0, max: 10 }) }),
          { minLength: 1, maxLength: 8 },
        ),
        async (reports) => {
          const { clock, limiter } = virtualLimiter();
          let expected = 0;
          let lastAt: number | undefined;
          for (const { gapMs, used } of reports) {
            clock.now += gapMs;
            // No grants: every call HubSpot counted is someone else's.
            await limiter.report(ACCOUNT, undefined, { max: 10, remaining: 10 - used }, BUDGET);
            const elapsed = lastAt === undefined ? 0 : clock.now - lastAt;
            // Only a refused call (a 429) marks HubSpot's count as capped; these reports are of accepted calls.
            expected = smoothOutsideUsage(expected, elapsed, used, 500, DEFAULT_GAINS, false);
            lastAt = clock.now;
            expect((await limiter.state(ACCOUNT)).outsideUsageEstimate).toBeCloseTo(expected, 9);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('caps at HubSpot reported Max and prefers its longer interval', async () => {
    const { clock, limiter } = virtualLimiter();
    const grant = expectGrant(await limiter.acquire(ACCOUNT, BUDGET));
    await limiter.report(ACCOUNT, grant, { max: 5, remaining: 4, intervalMs: 1_000 }, BUDGET);
    const times = [grant.at];
    while (times.length < 11) times.push((await nextGrant(limiter, clock, BUDGET)).at);
    // 5 per (1000 ms + 20 ms margin), not 10 per 515 ms.
    for (let i = 0; i + 5 < times.length; i++) {
      expect((times[i + 5] ?? 0) - (times[i] ?? 0)).toBeGreaterThanOrEqual(1_020);
    }
    expect(await limiter.state(ACCOUNT)).toMatchObject({ effectiveMax: 5, reportedIntervalMs: 1_000 });
  });
});

describe('RateLimiter daily budget', () => {
  it('keeps the daily reserve and resets at midnight UTC', async () => {
    const { clock, limiter } = virtualLimiter(Date.UTC(2026, 2, 1, 23, 59, 50));
    const budget: AccountBudget = { ...BUDGET, dailyLimit: 5, dailyReserve: 2 };
    for (let i = 0; i < 3; i++) await nextGrant(limiter, clock, budget);
    const refused = await limiter.acquire(ACCOUNT, budget);
    expect(refused).toMatchObject({
      granted: false,
      reason: 'daily',
      waitMs: Date.UTC(2026, 2, 2) - clock.now,
    });
    expect((await limiter.state(ACCOUNT)).dailyCount).toBe(3);

    clock.now = Date.UTC(2026, 2, 2);
    for (let i = 0; i < 3; i++) await nextGrant(limiter, clock, budget);
    expect((await limiter.acquire(ACCOUNT, budget)).granted).toBe(false);
  });

  it('follows an anchored reset for accounts on another offset', async () => {
    const { clock, limiter } = virtualLimiter(Date.UTC(2026, 2, 1, 12));
    const anchor = Date.UTC(2026, 0, 1, 5); // midnight at UTC-5
    const budget: AccountBudget = { ...BUDGET, dailyLimit: 1, dailyResetAt: anchor };
    await nextGrant(limiter, clock, budget);
    const refused = await limiter.acquire(ACCOUNT, budget);
    expect(refused).toMatchObject({ reason: 'daily', waitMs: Date.UTC(2026, 2, 2, 5) - clock.now });
  });

  it('honours the Daily-Remaining HubSpot reports, minus the reserve and our later grants', async () => {
    const { clock, limiter } = virtualLimiter();
    const budget: AccountBudget = { ...BUDGET, dailyReserve: 1 };
    const observed = await nextGrant(limiter, clock, budget);
    const before = await nextGrant(limiter, clock, budget); // granted before the report came back
    await limiter.report(ACCOUNT, observed, { daily: 1000, dailyRemaining: 4 }, budget);
    expect((await limiter.state(ACCOUNT)).reportedDailyRemaining).toBe(4);
    // 4 left at the observed call's arrival, 1 reserved, 1 granted since: 2 more.
    await nextGrant(limiter, clock, budget);
    await nextGrant(limiter, clock, budget);
    expect(before.at).toBeGreaterThan(observed.at);
    expect(await limiter.acquire(ACCOUNT, budget)).toMatchObject({ granted: false, reason: 'daily' });
  });
});
