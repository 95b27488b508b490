import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.js';
import {
  drawLatency,
  HUBSPOT_BATCH_LATENCY,
  type LatencySpec,
  resolveLatency,
} from '../../src/simulator/latency.js';
import { resolveOptions } from '../../src/simulator/options.js';
import { PortalRegistry } from '../../src/simulator/portals.js';
import { mulberry32 } from '../../src/simulator/prng.js';
import { SchemaRegistry } from '../../src/simulator/schema.js';

function draws(spec: LatencySpec, seed: number, n: number): number[] {
  const model = resolveLatency(spec);
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => drawLatency(model, random));
}

/** The q-quantile of a sample (nearest rank). */
function quantile(sample: number[], q: number): number {
  const sorted = [...sample].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

function rangeError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RangeError);
    return (error as RangeError).message;
  }
  throw new Error('expected a RangeError');
}

const TAIL = { kind: 'longTail', medianMs: 200, p99Ms: 1500, maxMs: 5000 } as const;

describe('long-tailed latency', () => {
  it('replays the same draws for the same seed and differs for another seed', () => {
    expect(draws(TAIL, 7, 200)).toEqual(draws(TAIL, 7, 200));
    expect(draws(TAIL, 8, 200)).not.toEqual(draws(TAIL, 7, 200));
  });

  it('has the median and p99 asked for, within 5% and 10% over 40,000 draws', () => {
    const sample = draws(TAIL, 11, 40_000);
    expect(Math.abs(quantile(sample, 0.5) / TAIL.medianMs - 1)).toBeLessThan(0.05);
    expect(Math.abs(quantile(sample, 0.99) / TAIL.p99Ms - 1)).toBeLessThan(0.1);
    // Long-tailed: the mean sits well above the median.
    const mean = sample.reduce((a, b) => a + b, 0) / sample.length;
    expect(mean).toBeGreaterThan(TAIL.medianMs * 1.3);
  });

  it('never draws above maxMs nor below minMs, even when the cap cuts into the tail', () => {
    const spec = { kind: 'longTail', medianMs: 100, p99Ms: 400, maxMs: 400, minMs: 60 } as const;
    const sample = draws(spec, 3, 20_000);
    expect(Math.max(...sample)).toBe(400);
    expect(Math.min(...sample)).toBe(60);
    // The clamp holds about the top 1% at the cap, not more.
    const atCap = sample.filter((ms) => ms === 400).length / sample.length;
    expect(atCap).toBeGreaterThan(0.005);
    expect(atCap).toBeLessThan(0.02);
  });

  it('the HubSpot preset stays within 50 ms to 2 s with its median near 200 ms', () => {
    const sample = draws(HUBSPOT_BATCH_LATENCY, 5, 20_000);
    expect(Math.min(...sample)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...sample)).toBeLessThanOrEqual(2000);
    expect(Math.abs(quantile(sample, 0.5) / 200 - 1)).toBeLessThan(0.05);
  });
});

describe('fixed and uniform latency', () => {
  it('a number and {kind: fixed} are a fixed delay that draws nothing from the PRNG', () => {
    for (const spec of [25, { kind: 'fixed', ms: 25 }, { min: 25, max: 25 }] as const) {
      const random = mulberry32(9);
      expect(drawLatency(resolveLatency(spec), random)).toBe(25);
      expect(random.next()).toBe(mulberry32(9).next());
    }
  });

  it('{min, max} and {kind: uniform} draw the same integers as before, within the bounds', () => {
    const reference = mulberry32(4);
    const expected = Array.from({ length: 500 }, () => reference.int(5, 40));
    expect(draws({ min: 5, max: 40 }, 4, 500)).toEqual(expected);
    expect(draws({ kind: 'uniform', minMs: 5, maxMs: 40 }, 4, 500)).toEqual(expected);
    expect(Math.min(...expected)).toBe(5);
    expect(Math.max(...expected)).toBe(40);
  });

  it('no latency at all by default', () => {
    expect(resolveLatency(undefined)).toEqual({ kind: 'fixed', ms: 0 });
  });
});

describe('latency validation', () => {
  it('throws a RangeError naming the parameter', () => {
    const bad: Array<[unknown, string]> = [
      [-1, 'latencyMs must be'],
      [Number.NaN, 'latencyMs must be'],
      [{ min: 5, max: 1 }, 'latencyMs.maxMs must be >= latencyMs.minMs'],
      [{ min: -1, max: 1 }, 'latencyMs.minMs'],
      [{ kind: 'fixed', ms: -3 }, 'latencyMs.ms'],
      [{ kind: 'uniform', minMs: 0, maxMs: Number.POSITIVE_INFINITY }, 'latencyMs.maxMs'],
      [{ ...TAIL, medianMs: 0 }, 'latencyMs.medianMs must be > 0'],
      [{ ...TAIL, p99Ms: 200 }, 'latencyMs.p99Ms must be > latencyMs.medianMs'],
      [{ ...TAIL, maxMs: 1000 }, 'latencyMs.maxMs must be >= latencyMs.p99Ms'],
      [{ ...TAIL, minMs: 300 }, 'latencyMs.minMs must be <= latencyMs.medianMs'],
      [{ kind: 'gaussian', ms: 3 }, 'latencyMs.kind must be fixed, uniform or longTail'],
      ['fast', 'latencyMs must be a number or a latency object'],
    ];
    for (const [spec, message] of bad) {
      expect(rangeError(() => resolveOptions({ latencyMs: spec as LatencySpec }))).toContain(message);
    }
  });

  it("names the portal whose latency is wrong, and refuses two tokens disagreeing on one portal's", () => {
    const portal = { portalId: 'p1', maxRequests: 10, windowMs: 1000 };
    expect(
      rangeError(() =>
        resolveOptions({ portals: { tok: { ...portal, latencyMs: { ...TAIL, p99Ms: 100 } } } }),
      ),
    ).toContain('portals[tok].latencyMs.p99Ms');
    expect(
      rangeError(() =>
        resolveOptions({ portals: { a: { ...portal, latencyMs: 5 }, b: { ...portal, latencyMs: 6 } } }),
      ),
    ).toContain('name portal p1 with different');
  });
});

describe('per-portal latency', () => {
  it("a configured portal answers with its own latency, every other portal with the simulator's", () => {
    const options = resolveOptions({
      latencyMs: 7,
      portals: {
        slow: { portalId: 'p-slow', maxRequests: 10, windowMs: 1000, latencyMs: TAIL },
        plain: { portalId: 'p-plain', maxRequests: 10, windowMs: 1000 },
      },
    });
    const registry = new PortalRegistry(options, new SchemaRegistry(options.objectTypes), new SimClock());
    const slow = registry.authenticate('slow');
    const plain = registry.authenticate('plain');
    const lazy = registry.authenticate('someone-else');
    if (!slow.ok || !plain.ok || !lazy.ok) throw new Error('expected every token to authenticate');
    expect(slow.portal.latency).toMatchObject({ kind: 'longTail', medianMs: 200, p99Ms: 1500 });
    expect(plain.portal.latency).toEqual({ kind: 'fixed', ms: 7 });
    expect(lazy.portal.latency).toEqual({ kind: 'fixed', ms: 7 });
  });
});
