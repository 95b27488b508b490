import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  DEFAULT_MAX_DELAY_MS,
  exponentialCapMs,
  LOCKED_MIN_DELAY_MS,
} from '../../src/hubspot/backoff.js';
import {
  ATTEMPT_POLICY,
  type AttemptReason,
  attemptPolicyMarkdown,
  Backoff,
  DEFAULT_MAX_ATTEMPTS,
  RETRY_REASONS,
} from '../../src/hubspot/policy.js';

const reasons = Object.keys(ATTEMPT_POLICY) as AttemptReason[];
const reasonArb = fc.constantFrom(...reasons);
const attemptArb = fc.integer({ min: 1, max: 100 });
const unitArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('ATTEMPT_POLICY table', () => {
  it('has a row for every retry reason, and each says retry', () => {
    for (const reason of RETRY_REASONS) {
      expect(ATTEMPT_POLICY[reason], reason).toBeDefined();
      expect(ATTEMPT_POLICY[reason].retry, reason).toBe(true);
    }
  });

  it('has the rows the worker relies on', () => {
    for (const reason of [
      'rate_limited_429',
      'auth_401',
      'forbidden_403',
      'object_not_found',
      'validation_400',
      'other_4xx',
      'lease_expired',
    ]) {
      expect(reasons).toContain(reason);
    }
  });

  it('every row is well formed', () => {
    const backoffs = Object.values(Backoff) as string[];
    for (const [reason, rule] of Object.entries(ATTEMPT_POLICY)) {
      expect(typeof rule.retry, reason).toBe('boolean');
      expect(typeof rule.spendsAttempt, reason).toBe('boolean');
      expect(backoffs, reason).toContain(rule.backoff);
      expect(rule.description.length, reason).toBeGreaterThan(10);
      if (!rule.retry) expect(rule.backoff, reason).toBe('none');
    }
  });

  it("waits that are not the update's fault cost no attempt", () => {
    for (const reason of [
      'rate_limited_429',
      'migration_477',
      'auth_401',
      'forbidden_403',
      'aborted',
    ] as const) {
      expect(ATTEMPT_POLICY[reason].spendsAttempt, reason).toBe(false);
    }
    for (const reason of [
      'server_error',
      'timeout',
      'connection_reset',
      'canceled',
      'lease_expired',
    ] as const) {
      expect(ATTEMPT_POLICY[reason].spendsAttempt, reason).toBe(true);
    }
    expect(ATTEMPT_POLICY.object_not_found.retry).toBe(false);
    expect(ATTEMPT_POLICY.validation_400.retry).toBe(false);
  });

  it('DEFAULT_MAX_ATTEMPTS is 10', () => {
    expect(DEFAULT_MAX_ATTEMPTS).toBe(10);
  });

  it('renders as a Markdown table with one row per reason', () => {
    const md = attemptPolicyMarkdown();
    const lines = md.trim().split('\n');
    expect(lines).toHaveLength(reasons.length + 2);
    expect(lines[0]).toBe('| reason | retry | spends an attempt | ambiguous | backoff | description |');
    for (const reason of reasons) expect(md).toContain(`| \`${reason}\` |`);
    expect(md).toContain('| `rate_limited_429` | yes | no | no | `rateWindow` |');
    for (const line of lines) expect(line.split(/(?<!\\)\|/).length).toBe(8);
  });
});

describe('exponentialCapMs', () => {
  it('doubles from baseMs and is capped', () => {
    expect([1, 2, 3, 4].map((a) => exponentialCapMs(a, 1000, 300_000))).toEqual([1000, 2000, 4000, 8000]);
    expect(exponentialCapMs(50, 1000, 300_000)).toBe(300_000);
    expect(exponentialCapMs(10_000, 1000, 300_000)).toBe(300_000);
    expect(exponentialCapMs(0, 1000, 300_000)).toBe(1000);
    expect(exponentialCapMs(Number.NaN, 1000, 300_000)).toBe(1000);
  });

  it('is monotone in the attempt and never above the cap', () => {
    fc.assert(
      fc.property(
        attemptArb,
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (a, base, max) => {
          const d = exponentialCapMs(a, base, max);
          expect(d).toBeLessThanOrEqual(max);
          expect(exponentialCapMs(a + 1, base, max)).toBeGreaterThanOrEqual(d);
        },
      ),
    );
  });
});

describe('backoffDelayMs', () => {
  it('exponential delays use equal jitter: within [d/2, d]', () => {
    fc.assert(
      fc.property(attemptArb, unitArb, (attempt, r) => {
        const d = exponentialCapMs(attempt, 1000, DEFAULT_MAX_DELAY_MS);
        const delay = backoffDelayMs('server_error', attempt, { random: () => r });
        expect(delay).toBeGreaterThanOrEqual(Math.floor(d / 2));
        expect(delay).toBeLessThanOrEqual(d);
      }),
    );
  });

  it('uses the extremes of the jitter range', () => {
    expect(backoffDelayMs('timeout', 3, { random: () => 0 })).toBe(2000);
    expect(backoffDelayMs('timeout', 3, { random: () => 0.999999 })).toBe(4000);
    expect(backoffDelayMs('timeout', 1, { baseMs: 500, random: () => 0.5 })).toBe(375);
  });

  it('never exceeds maxMs without a Retry-After', () => {
    fc.assert(
      fc.property(
        reasonArb,
        attemptArb,
        unitArb,
        fc.integer({ min: 2000, max: 100_000 }),
        (reason, attempt, r, maxMs) => {
          if (ATTEMPT_POLICY[reason].backoff === 'rateWindow') return;
          expect(backoffDelayMs(reason, attempt, { maxMs, random: () => r })).toBeLessThanOrEqual(maxMs);
        },
      ),
    );
  });

  it('423 waits at least 2 s', () => {
    fc.assert(
      fc.property(attemptArb, unitArb, fc.integer({ min: 1, max: 5000 }), (attempt, r, baseMs) => {
        expect(backoffDelayMs('locked_423', attempt, { baseMs, random: () => r })).toBeGreaterThanOrEqual(
          LOCKED_MIN_DELAY_MS,
        );
      }),
    );
  });

  it('honours Retry-After for 477 and 5xx, even beyond maxMs', () => {
    expect(backoffDelayMs('migration_477', 1, { retryAfterMs: 7_200_000 })).toBe(7_200_000);
    expect(backoffDelayMs('server_error', 1, { retryAfterMs: 4500, random: () => 0 })).toBe(4500);
    expect(backoffDelayMs('locked_423', 1, { retryAfterMs: 9000, random: () => 0 })).toBe(9000);
  });

  it('429 waits for Retry-After, else the window, else 10 s', () => {
    expect(backoffDelayMs('rate_limited_429', 1, { retryAfterMs: 1200, windowMs: 8000 })).toBe(1200);
    expect(backoffDelayMs('rate_limited_429', 5, { windowMs: 8000 })).toBe(8000);
    expect(backoffDelayMs('rate_limited_429', 5)).toBe(10_000);
  });

  it('ignores unusable Retry-After values', () => {
    expect(backoffDelayMs('migration_477', 1, { retryAfterMs: Number.NaN, random: () => 0 })).toBe(500);
    expect(backoffDelayMs('migration_477', 1, { retryAfterMs: -5 })).toBe(0);
  });

  it('reasons with no backoff wait 0', () => {
    for (const reason of reasons.filter((r) => ATTEMPT_POLICY[r].backoff === 'none')) {
      expect(backoffDelayMs(reason, 4)).toBe(0);
    }
  });

  it('is deterministic given the random source', () => {
    fc.assert(
      fc.property(reasonArb, attemptArb, unitArb, (reason, attempt, r) => {
        expect(backoffDelayMs(reason, attempt, { random: () => r })).toBe(
          backoffDelayMs(reason, attempt, { random: () => r }),
        );
      }),
    );
  });
});
