import { describe, expect, it } from 'vitest';
import { accountDay, nextDailyReset, SimClock } from '../../src/simulator/clock.js';
import { resolveOptions } from '../../src/simulator/options.js';
import { PortalBudget, type RateLimitConfig } from '../../src/simulator/rate-limit.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Midnight UTC of some day. */
const MIDNIGHT_UTC = 20_000 * DAY;

function budget(config: Partial<RateLimitConfig> = {}, wallClock?: () => number): PortalBudget {
  return new PortalBudget(
    { maxRequests: 1000, windowMs: 10_000, dailyLimit: 2, policyName: 'TEN_SECONDLY_ROLLING', ...config },
    wallClock,
  );
}

/** Spends a budget's whole day at wall time `wallMs`. */
function spend(b: PortalBudget, wallMs: number, calls = 2): void {
  for (let i = 0; i < calls; i++) expect(b.arrive(i, wallMs).allowed).toBe(true);
}

describe('the account calendar', () => {
  it('rolls the day at local midnight: 05:00 UTC for UTC-05:00, 18:30 UTC for UTC+05:30', () => {
    expect(accountDay(MIDNIGHT_UTC + 5 * HOUR - 1, -300)).toBe(accountDay(MIDNIGHT_UTC, -300));
    expect(accountDay(MIDNIGHT_UTC + 5 * HOUR, -300)).toBe(accountDay(MIDNIGHT_UTC, -300) + 1);
    expect(nextDailyReset(MIDNIGHT_UTC, -300)).toBe(MIDNIGHT_UTC + 5 * HOUR);
    expect(nextDailyReset(MIDNIGHT_UTC + 5 * HOUR, -300)).toBe(MIDNIGHT_UTC + DAY + 5 * HOUR);
    expect(nextDailyReset(MIDNIGHT_UTC, 330)).toBe(MIDNIGHT_UTC + 18.5 * HOUR);
    expect(nextDailyReset(MIDNIGHT_UTC - 1, 0)).toBe(MIDNIGHT_UTC);
  });
});

describe('daily reset at the account time zone', () => {
  const RESET = MIDNIGHT_UTC + 5 * HOUR; // local midnight at UTC-05:00

  it('refuses DAILY just before the reset once the day is spent, and admits just after with a fresh budget', () => {
    const b = budget({ dailyResetUtcOffsetMinutes: -300 });
    spend(b, RESET - 60_000);
    const refused = b.arrive(10, RESET - 300);
    expect(refused).toEqual({ allowed: false, policyName: 'DAILY', retryAfterMs: 300 });
    expect(b.headers(10, RESET - 300)['X-HubSpot-RateLimit-Daily-Remaining']).toBe('0');
    // The day's count is gone exactly at local midnight: this arrival is the first of the new day.
    expect(b.arrive(20, RESET).allowed).toBe(true);
    expect(b.headers(20, RESET)).toMatchObject({
      'X-HubSpot-RateLimit-Daily': '2',
      'X-HubSpot-RateLimit-Daily-Remaining': '1',
    });
  });

  it('does not reset at midnight UTC when the account lives elsewhere', () => {
    const b = budget({ dailyResetUtcOffsetMinutes: -300 });
    spend(b, MIDNIGHT_UTC - 1000);
    expect(b.arrive(10, MIDNIGHT_UTC + 1000)).toMatchObject({
      allowed: false,
      policyName: 'DAILY',
      retryAfterMs: 5 * HOUR - 1000,
    });
  });

  it('resets at midnight UTC by default', () => {
    const b = budget();
    spend(b, MIDNIGHT_UTC - 1000);
    expect(b.arrive(10, MIDNIGHT_UTC - 1)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect(b.arrive(11, MIDNIGHT_UTC).allowed).toBe(true);
  });

  it('refuses an offset that is no time zone, naming the field', () => {
    expect(() => resolveOptions({ defaultRateLimit: { dailyResetUtcOffsetMinutes: 900 } })).toThrow(
      /defaultRateLimit\.dailyResetUtcOffsetMinutes must be an integer from -720 to 840/,
    );
    expect(() =>
      resolveOptions({
        portals: { t: { portalId: 'p', maxRequests: 1, windowMs: 1, dailyResetUtcOffsetMinutes: 30.5 } },
      }),
    ).toThrow(/portals\[t\]\.dailyResetUtcOffsetMinutes/);
  });
});

describe('clock offset', () => {
  it("a budget follows the simulator's clock: moved to just before the reset, then just after", () => {
    const clock = new SimClock();
    const b = budget({ dailyResetUtcOffsetMinutes: 120 }, () => clock.now());
    // Local midnight at UTC+02:00 is 22:00 UTC; 10 s before the next one, wherever the host's clock is.
    const reset = nextDailyReset(Date.now(), 120);
    clock.setOffsetMs(reset - 10_000 - Date.now());
    expect(b.arrive(0).allowed).toBe(true);
    expect(b.arrive(1).allowed).toBe(true);
    const refused = b.arrive(2);
    expect(refused).toMatchObject({ allowed: false, policyName: 'DAILY' });
    expect(refused.allowed === false && refused.retryAfterMs).toBeLessThanOrEqual(10_000);
    expect(b.headers(2)['X-HubSpot-RateLimit-Daily-Remaining']).toBe('0');
    clock.setOffsetMs(reset + 10_000 - Date.now());
    expect(b.arrive(3).allowed).toBe(true);
    expect(b.headers(3)['X-HubSpot-RateLimit-Daily-Remaining']).toBe('1');
  });

  it('leaves the rolling window alone: a full window stays full across a day boundary', () => {
    const b = budget({ maxRequests: 2, dailyLimit: 100 });
    expect(b.arrive(0, MIDNIGHT_UTC - 10).allowed).toBe(true);
    expect(b.arrive(1, MIDNIGHT_UTC - 10).allowed).toBe(true);
    // The wall clock jumps a day ahead; the monotonic clock has moved 1 ms.
    expect(b.arrive(2, MIDNIGHT_UTC + DAY)).toMatchObject({
      allowed: false,
      policyName: 'TEN_SECONDLY_ROLLING',
    });
    expect(b.headers(2, MIDNIGHT_UTC + DAY)).toMatchObject({
      'X-HubSpot-RateLimit-Remaining': '0',
      'X-HubSpot-RateLimit-Daily-Remaining': '99',
    });
  });

  it('starts a fresh day when the clock is moved back across a reset as well', () => {
    const b = budget();
    spend(b, MIDNIGHT_UTC + 1000);
    expect(b.arrive(10, MIDNIGHT_UTC - 1000).allowed).toBe(true);
  });

  it('refuses an offset that is not a whole number of ms', () => {
    expect(() => resolveOptions({ clockOffsetMs: 1.5 })).toThrow(/clockOffsetMs must be an integer/);
    expect(() => new SimClock().setOffsetMs(Number.NaN)).toThrow(RangeError);
    const clock = new SimClock(-5000);
    expect(clock.offsetMs()).toBe(-5000);
  });
});
