/**
 * How long the simulator takes to answer an API call it admitted: a fixed delay, a uniform one, or a long-tailed
 * (log-normal) one like HubSpot's batch endpoints, whose calls mostly take a few hundred ms but now and then
 * seconds. Draws come from the simulator's seeded PRNG so a run replays for the same seed and call order.
 */
import type { Random } from './prng.js';

/**
 * A latency as callers write it. `number` is a fixed delay and `{min, max}` a uniform one (both kept from
 * earlier versions); the `kind` spellings are the same two plus `longTail`.
 *
 * `longTail` draws from a log-normal distribution with the given median and 99th percentile, clamped to
 * `[minMs, maxMs]` (`minMs` defaults to 0). Requires `0 < medianMs < p99Ms <= maxMs` and `minMs <= medianMs`.
 */
export type LatencySpec =
  | number
  | { min: number; max: number }
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'longTail'; medianMs: number; p99Ms: number; maxMs: number; minMs?: number };

/** A validated latency, ready to draw from. */
export type LatencyModel =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | {
      kind: 'longTail';
      medianMs: number;
      p99Ms: number;
      minMs: number;
      maxMs: number;
      /** Mean and standard deviation of the latency's natural logarithm. */
      mu: number;
      sigma: number;
    };

/** The standard normal's 99th percentile. */
const Z_99 = 2.3263478740408408;

/**
 * Real batch-update calls: 50 ms to 2 s, long-tailed. The median and p99 are estimates (HubSpot publishes no
 * latency figures); the bounds are what is commonly observed.
 */
export const HUBSPOT_BATCH_LATENCY = Object.freeze({
  kind: 'longTail',
  medianMs: 200,
  p99Ms: 1500,
  minMs: 50,
  maxMs: 2000,
} as const);

/** No latency at all. */
export const NO_LATENCY: LatencyModel = Object.freeze({ kind: 'fixed', ms: 0 });

function finiteAtLeast(field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`${field} must be a finite number >= ${min}, got ${String(value)}`);
  }
  return value;
}

function uniform(field: string, minMs: unknown, maxMs: unknown): LatencyModel {
  const lo = finiteAtLeast(`${field}.minMs`, minMs, 0);
  const hi = finiteAtLeast(`${field}.maxMs`, maxMs, 0);
  if (hi < lo) throw new RangeError(`${field}.maxMs must be >= ${field}.minMs (${lo}), got ${hi}`);
  return lo === hi ? { kind: 'fixed', ms: lo } : { kind: 'uniform', minMs: lo, maxMs: hi };
}

function longTail(field: string, spec: Extract<LatencySpec, { kind: 'longTail' }>): LatencyModel {
  const medianMs = finiteAtLeast(`${field}.medianMs`, spec.medianMs, 0);
  if (medianMs === 0) throw new RangeError(`${field}.medianMs must be > 0, got 0`);
  const p99Ms = finiteAtLeast(`${field}.p99Ms`, spec.p99Ms, 0);
  if (!(p99Ms > medianMs)) {
    throw new RangeError(`${field}.p99Ms must be > ${field}.medianMs (${medianMs}), got ${p99Ms}`);
  }
  const maxMs = finiteAtLeast(`${field}.maxMs`, spec.maxMs, 0);
  // A cap below the p99 would make the p99 asked for unreachable.
  if (maxMs < p99Ms)
    throw new RangeError(`${field}.maxMs must be >= ${field}.p99Ms (${p99Ms}), got ${maxMs}`);
  const minMs = finiteAtLeast(`${field}.minMs`, spec.minMs ?? 0, 0);
  if (minMs > medianMs) {
    throw new RangeError(`${field}.minMs must be <= ${field}.medianMs (${medianMs}), got ${minMs}`);
  }
  const mu = Math.log(medianMs);
  const sigma = (Math.log(p99Ms) - mu) / Z_99;
  return { kind: 'longTail', medianMs, p99Ms, minMs, maxMs, mu, sigma };
}

/**
 * Validates a latency spec (undefined: none) and turns it into a model; throws a RangeError naming `field` and
 * the offending parameter, so a misconfigured run fails at start.
 */
export function resolveLatency(spec: LatencySpec | undefined, field = 'latencyMs'): LatencyModel {
  if (spec === undefined) return NO_LATENCY;
  if (typeof spec === 'number') return { kind: 'fixed', ms: finiteAtLeast(field, spec, 0) };
  if (typeof spec !== 'object' || spec === null) {
    throw new RangeError(`${field} must be a number or a latency object, got ${String(spec)}`);
  }
  if (!('kind' in spec)) return uniform(field, spec.min, spec.max);
  switch (spec.kind) {
    case 'fixed':
      return { kind: 'fixed', ms: finiteAtLeast(`${field}.ms`, spec.ms, 0) };
    case 'uniform':
      return uniform(field, spec.minMs, spec.maxMs);
    case 'longTail':
      return longTail(field, spec);
    default:
      throw new RangeError(
        `${field}.kind must be fixed, uniform or longTail, got ${String((spec as { kind: unknown }).kind)}`,
      );
  }
}

/** A standard normal draw (Box-Muller); consumes two PRNG draws. */
function standardNormal(random: Random): number {
  const u1 = 1 - random.next(); // (0, 1]: the logarithm stays finite
  const u2 = random.next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * One latency in ms. A fixed latency draws nothing from the PRNG and a uniform one draws an integer as before,
 * so seeded fault scenarios written against those replay unchanged.
 */
export function drawLatency(model: LatencyModel, random: Random): number {
  switch (model.kind) {
    case 'fixed':
      return model.ms;
    case 'uniform':
      return random.int(model.minMs, model.maxMs);
    case 'longTail': {
      const ms = Math.exp(model.mu + model.sigma * standardNormal(random));
      return Math.min(model.maxMs, Math.max(model.minMs, ms));
    }
  }
}
