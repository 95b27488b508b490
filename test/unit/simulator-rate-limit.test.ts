import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortalBudget } from '../../src/simulator/rate-limit.js';

const DAY = 86_400_000;
const NOON = 20_000 * DAY + DAY / 2;

function budget(overrides: Partial<ConstructorParameters<typeof PortalBudget>[0]> = {}): PortalBudget {
  return new PortalBudget({
    maxRequests: 3,
    windowMs: 1000,
    dailyLimit: 100,
    policyName: 'TEN_SECONDLY_ROLLING',
    ...overrides,
  });
}

describe('PortalBudget', () => {
  it('admits maxRequests arrivals per rolling window and refuses the next', () => {
    const b = budget();
    expect(b.arrive(0, NOON).allowed).toBe(true);
    expect(b.arrive(100, NOON).allowed).toBe(true);
    expect(b.arrive(200, NOON).allowed).toBe(true);
    expect(b.arrive(300, NOON)).toEqual({
      allowed: false,
      policyName: 'TEN_SECONDLY_ROLLING',
      retryAfterMs: 700,
    });
  });

  it('rolls: an arrival leaves the window exactly windowMs later', () => {
    const b = budget({ maxRequests: 2 });
    b.arrive(0, NOON);
    b.arrive(500, NOON);
    expect(b.arrive(999, NOON).allowed).toBe(false);
    // At 1000 the arrival of t=0 has left, but the refused one of t=999 still counts with t=500.
    expect(b.arrive(1000, NOON).allowed).toBe(false);
    expect(b.arrive(1499, NOON).allowed).toBe(false);
    // Only t=1499 is left in (1000, 2000].
    expect(b.arrive(2000, NOON).allowed).toBe(true);
  });

  it('counts refused arrivals, so a client hammering through 429s stays blocked', () => {
    const b = budget({ maxRequests: 1 });
    b.arrive(0, NOON);
    for (let t = 100; t < 5000; t += 500) expect(b.arrive(t, NOON).allowed).toBe(false);
    expect(b.maxInWindow).toBe(3);
  });

  it('reports the budget left after counting in its headers', () => {
    const b = budget();
    b.arrive(0, NOON);
    expect(b.headers(0, NOON)).toEqual({
      'X-HubSpot-RateLimit-Max': '3',
      'X-HubSpot-RateLimit-Remaining': '2',
      'X-HubSpot-RateLimit-Interval-Milliseconds': '1000',
      'X-HubSpot-RateLimit-Daily': '100',
      'X-HubSpot-RateLimit-Daily-Remaining': '99',
    });
    expect(b.headers(1000, NOON)['X-HubSpot-RateLimit-Remaining']).toBe('3');
  });

  it('omits the Daily headers without a daily limit', () => {
    const headers = budget({ dailyLimit: null }).headers(0, NOON);
    expect(Object.keys(headers)).not.toContain('X-HubSpot-RateLimit-Daily');
  });

  it('refuses with DAILY once the day is spent and starts afresh the next UTC day', () => {
    const b = budget({ dailyLimit: 2, maxRequests: 100 });
    b.arrive(0, NOON);
    b.arrive(1, NOON);
    const refused = b.arrive(2, NOON);
    expect(refused).toMatchObject({ allowed: false, policyName: 'DAILY', retryAfterMs: DAY / 2 });
    expect(b.arrive(3, NOON + DAY).allowed).toBe(true);
  });

  it('adds a secondly window of a tenth of the limit for the SECONDLY policy', () => {
    const b = budget({ maxRequests: 20, windowMs: 10_000, policyName: 'SECONDLY' });
    expect(b.arrive(0, NOON).allowed).toBe(true);
    expect(b.arrive(10, NOON).allowed).toBe(true);
    expect(b.arrive(20, NOON)).toMatchObject({ allowed: false, policyName: 'SECONDLY' });
    expect(b.headers(20, NOON)).toMatchObject({
      'X-HubSpot-RateLimit-Secondly': '2',
      'X-HubSpot-RateLimit-Secondly-Remaining': '0',
      'X-HubSpot-RateLimit-Remaining': '17',
    });
    expect(b.arrive(1020, NOON).allowed).toBe(true);
  });

  it('forgets everything on clear', () => {
    const b = budget({ maxRequests: 1 });
    b.arrive(0, NOON);
    b.clear();
    expect(b.arrive(1, NOON).allowed).toBe(true);
    expect(b.maxInWindow).toBe(1);
  });
});

describe('PortalBudget against a model', () => {
  it('admits an arrival exactly when fewer than maxRequests arrivals fall in the preceding window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 60 }),
        (maxRequests, windowMs, gaps) => {
          const b = budget({ maxRequests, windowMs, dailyLimit: null });
          const seen: number[] = [];
          let now = 0;
          let maxInWindow = 0;
          for (const gap of gaps) {
            now += gap;
            const inWindow = seen.filter((t) => t > now - windowMs).length;
            expect(b.arrive(now, NOON).allowed).toBe(inWindow < maxRequests);
            seen.push(now);
            maxInWindow = Math.max(maxInWindow, inWindow + 1);
          }
          expect(b.maxInWindow).toBe(maxInWindow);
        },
      ),
    );
  });
});
