import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, nextDailyResetMs } from '../../src/ratelimit/daily.js';
import {
  DEFAULT_GAINS,
  decayEstimate,
  defaultMarginMs,
  effectiveMaxOf,
  outsideUsageSample,
  smoothOutsideUsage,
} from '../../src/ratelimit/estimate.js';

const estimate = fc.double({ min: 0, max: 1000, noNaN: true });
const elapsed = fc.integer({ min: 0, max: 600_000 });
const halfLife = fc.integer({ min: 1, max: 60_000 });
const sample = fc.integer({ min: 0, max: 1000 });

describe('outside usage estimator', () => {
  it('stays between the decayed estimate and the sample, and is never negative', () => {
    fc.assert(
      fc.property(estimate, elapsed, sample, halfLife, (prev, dt, x, h) => {
        const decayed = decayEstimate(prev, dt, h);
        const next = smoothOutsideUsage(prev, dt, x, h);
        expect(next).toBeGreaterThanOrEqual(0);
        expect(next).toBeGreaterThanOrEqual(Math.min(decayed, x) - 1e-9);
        expect(next).toBeLessThanOrEqual(Math.max(decayed, x) + 1e-9);
      }),
    );
  });

  it('holds for one window, then decays monotonically, halving every window', () => {
    fc.assert(
      fc.property(estimate, elapsed, elapsed, halfLife, (prev, a, b, w) => {
        const [short, long] = a <= b ? [a, b] : [b, a];
        expect(decayEstimate(prev, long, w)).toBeLessThanOrEqual(decayEstimate(prev, short, w));
        expect(decayEstimate(prev, Math.min(short, w), w)).toBe(prev);
        const held = Math.max(short, w);
        expect(decayEstimate(prev, held + w, w)).toBeCloseTo(decayEstimate(prev, held, w) / 2, 9);
      }),
    );
  });

  it('returns to 0 once outside usage stops, with or without our calls', () => {
    fc.assert(
      fc.property(estimate, halfLife, fc.integer({ min: 1, max: 50 }), (prev, w, samplesPerWindow) => {
        // Our calls keep reporting zero outside use.
        let value = prev;
        for (let i = 0; i < 3 * samplesPerWindow; i++)
          value = smoothOutsideUsage(value, w / samplesPerWindow, 0, w);
        expect(value).toBeLessThanOrEqual(
          prev * (1 - DEFAULT_GAINS.down) ** (3 * samplesPerWindow) * (1 + 1e-9) + 1e-12,
        );
        // Or nobody calls: six windows of silence leave at most 1/32.
        expect(decayEstimate(prev, 6 * w, w)).toBeLessThanOrEqual((prev / 32) * (1 + 1e-9) + 1e-12);
      }),
    );
  });

  it('climbs past the estimate while HubSpot reports nothing remaining', () => {
    fc.assert(
      fc.property(estimate, sample, halfLife, (prev, x, w) => {
        expect(smoothOutsideUsage(prev, 0, x, w, DEFAULT_GAINS, true)).toBeGreaterThan(prev);
      }),
    );
  });

  it('rises faster than it falls', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), halfLife, (x, h) => {
        const up = smoothOutsideUsage(0, 0, x, h);
        const down = x - smoothOutsideUsage(x, 0, 0, h);
        expect(up).toBeCloseTo(x * DEFAULT_GAINS.up, 9);
        expect(down).toBeLessThan(up);
      }),
    );
  });

  it('takes the sample as reported use minus ours, never below 0', () => {
    fc.assert(
      fc.property(sample, sample, sample, (max, remaining, ours) => {
        const x = outsideUsageSample(max, remaining, ours);
        expect(x).toBe(Math.max(0, max - remaining - ours));
      }),
    );
  });
});

describe('effectiveMaxOf', () => {
  it('is within [1, min(budget, reported max)] and falls as outside usage grows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }),
        estimate,
        estimate,
        (max, reported, a, b) => {
          const cap = reported !== undefined && reported > 0 ? Math.min(max, reported) : max;
          const value = effectiveMaxOf(max, reported, a);
          expect(value).toBeGreaterThanOrEqual(1);
          expect(value).toBeLessThanOrEqual(cap);
          const [low, high] = a <= b ? [a, b] : [b, a];
          expect(effectiveMaxOf(max, reported, high)).toBeLessThanOrEqual(effectiveMaxOf(max, reported, low));
        },
      ),
    );
  });

  it('keeps the whole budget when nobody else spends it', () => {
    expect(effectiveMaxOf(100, undefined, 0)).toBe(100);
    expect(effectiveMaxOf(190, 110, 0.4)).toBe(110);
    // Outside usage of a call or more is kept back whole, plus one for how an even rate falls in a window.
    expect(effectiveMaxOf(10, 10, 3.5)).toBe(5);
    expect(effectiveMaxOf(20, 20, 6)).toBe(13);
    expect(effectiveMaxOf(10, 10, 42)).toBe(1);
  });
});

describe('margins and daily resets', () => {
  it('defaults the margin to 1% of the window plus 10 ms', () => {
    expect(defaultMarginMs(10_000)).toBe(110);
    expect(defaultMarginMs(500)).toBe(15);
  });

  it('resets at the next anchored midnight, strictly after now', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: -2 * DAY_MS, max: 4_000_000_000_000 }),
        (now, anchor) => {
          const next = nextDailyResetMs(now, anchor);
          expect(next).toBeGreaterThan(now);
          expect(next - now).toBeLessThanOrEqual(DAY_MS);
          expect((((next - anchor) % DAY_MS) + DAY_MS) % DAY_MS).toBe(0);
        },
      ),
    );
    expect(nextDailyResetMs(Date.UTC(2026, 2, 1, 23, 59, 59))).toBe(Date.UTC(2026, 2, 2));
    expect(nextDailyResetMs(Date.UTC(2026, 2, 2))).toBe(Date.UTC(2026, 2, 3));
  });
});
