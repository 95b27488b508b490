import { checkClockOffsetMs, checkUtcOffsetMinutes } from './clock.js';
import type { FaultOptions } from './faults.js';
import { type LatencyModel, type LatencySpec, resolveLatency } from './latency.js';
import type { RateLimitConfig } from './rate-limit.js';
import { builtInSchemas, type ObjectSchemas } from './schema.js';
import type { WindowPolicyName } from './types.js';

/** The account and rate budget a bearer token stands for. Tokens naming the same portalId share one budget. */
export interface PortalConfig {
  portalId: string;
  maxRequests: number;
  windowMs: number;
  /** Calls per account day; null for none (the Daily headers are then omitted). Default 250000. */
  dailyLimit?: number | null;
  /** Default TEN_SECONDLY_ROLLING. */
  policyName?: WindowPolicyName;
  /**
   * The account's time zone, minutes east of UTC (-720..840): its daily limit resets at local midnight.
   * Default 0 (midnight UTC).
   */
  dailyResetUtcOffsetMinutes?: number;
  /** This portal's latency, instead of the simulator-wide `latencyMs`. */
  latencyMs?: LatencySpec;
}

/** Options of {@link startSimulator}; every one is optional. */
export interface SimulatorOptions {
  /** Default 0: a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Bearer token -> portal. */
  portals?: Record<string, PortalConfig>;
  /** Default true: an unknown token gets a portal of its own (portal id = the token); false: 401. */
  acceptAnyToken?: boolean;
  /** Budget of lazily created portals. Default 100 per 10000 ms, daily 250000, TEN_SECONDLY_ROLLING. */
  defaultRateLimit?: Partial<RateLimitConfig>;
  /** Default false: results omit objectWriteTraceId, as observed in reality. */
  echoTraceIds?: boolean;
  /** Default true: 207 errors' context lists the trace ids of the failed inputs. */
  traceIdsInErrors?: boolean;
  /** Default true: results come back in random order, as HubSpot's do. */
  shuffleResults?: boolean;
  /** Seed of the PRNG behind faults, latency and shuffling. Default 1. */
  seed?: number;
  /**
   * Added to every admitted API call after the rate-limit check (a portal's own `latencyMs` wins): ms, fixed or
   * uniform or long-tailed, see {@link LatencySpec}. Default 0.
   */
  latencyMs?: LatencySpec;
  /**
   * How far the simulator's wall clock runs ahead of the host's (negative: behind), in integer ms. It decides
   * when daily limits reset and the times written into bodies and the call log; rolling windows are unaffected.
   * Changeable at run time. Default 0.
   */
  clockOffsetMs?: number;
  /** Object types by name, merged over (and replacing same-named) built-in ones. */
  objectTypes?: ObjectSchemas;
  /** Default false. True: an input naming a missing object creates it instead of failing OBJECT_NOT_FOUND. */
  autoCreate?: boolean;
  /** Objects seeded into every portal when the portal is created, e.g. `{contacts: 1000}`. */
  seedObjects?: Record<string, number>;
  /** Default false: 429s carry no Retry-After, as observed. True: seconds until the window has room. */
  retryAfterOn429?: boolean;
  /** Fault probabilities in force from the start. */
  faults?: Partial<FaultOptions>;
  /** Most recent call records kept by the call log (stats count everything regardless). Default 200000. */
  callLogLimit?: number;
  /** Largest batch accepted. Default 100, HubSpot's limit for CRM object batch endpoints. */
  maxInputs?: number;
}

/** {@link SimulatorOptions} with every default filled in. */
export interface ResolvedOptions {
  port: number;
  host: string;
  portals: Record<string, PortalConfig>;
  acceptAnyToken: boolean;
  defaultRateLimit: RateLimitConfig;
  echoTraceIds: boolean;
  traceIdsInErrors: boolean;
  shuffleResults: boolean;
  seed: number;
  latency: LatencyModel;
  /** Latency of configured portals that set their own, by portal id. */
  portalLatency: Record<string, LatencyModel>;
  clockOffsetMs: number;
  objectTypes: ObjectSchemas;
  autoCreate: boolean;
  seedObjects: Record<string, number>;
  retryAfterOn429: boolean;
  faults: Partial<FaultOptions>;
  callLogLimit: number;
  maxInputs: number;
}

/** The budget of a private app on a Free/Starter account. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimitConfig> = Object.freeze({
  maxRequests: 100,
  windowMs: 10_000,
  dailyLimit: 250_000,
  policyName: 'TEN_SECONDLY_ROLLING',
});

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

/** Fills defaults and rejects nonsense early, so a misconfigured test fails at start rather than mid-run. */
export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  const latency = resolveLatency(options.latencyMs, 'latencyMs');
  const defaultRateLimit = { ...DEFAULT_RATE_LIMIT, ...options.defaultRateLimit };
  positiveInt('defaultRateLimit.maxRequests', defaultRateLimit.maxRequests);
  positiveInt('defaultRateLimit.windowMs', defaultRateLimit.windowMs);
  checkUtcOffsetMinutes(
    'defaultRateLimit.dailyResetUtcOffsetMinutes',
    defaultRateLimit.dailyResetUtcOffsetMinutes ?? 0,
  );
  const portalLatency = resolvePortals(options.portals ?? {});
  const objectTypes = { ...builtInSchemas(), ...options.objectTypes };
  for (const objectType of Object.keys(options.seedObjects ?? {})) {
    const known = Object.entries(objectTypes).some(
      ([n, s]) => n === objectType || s.objectTypeId === objectType,
    );
    if (!known) throw new RangeError(`seedObjects names unknown object type ${objectType}`);
  }
  return {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    portals: { ...options.portals },
    acceptAnyToken: options.acceptAnyToken ?? true,
    defaultRateLimit,
    echoTraceIds: options.echoTraceIds ?? false,
    traceIdsInErrors: options.traceIdsInErrors ?? true,
    shuffleResults: options.shuffleResults ?? true,
    seed: options.seed ?? 1,
    latency,
    portalLatency,
    clockOffsetMs: checkClockOffsetMs('clockOffsetMs', options.clockOffsetMs ?? 0),
    objectTypes,
    autoCreate: options.autoCreate ?? false,
    seedObjects: { ...options.seedObjects },
    retryAfterOn429: options.retryAfterOn429 ?? false,
    faults: { ...options.faults },
    callLogLimit: options.callLogLimit ?? 200_000,
    maxInputs: positiveInt('maxInputs', options.maxInputs ?? 100),
  };
}

/**
 * Checks configured portals and resolves the latency of those that set one. Tokens naming the same portal share
 * it, so they must agree on what belongs to the portal rather than the token.
 */
function resolvePortals(portals: Record<string, PortalConfig>): Record<string, LatencyModel> {
  const latencies: Record<string, LatencyModel> = {};
  const seen = new Map<string, { token: string; key: string }>();
  for (const [token, portal] of Object.entries(portals)) {
    positiveInt(`portals[${token}].maxRequests`, portal.maxRequests);
    positiveInt(`portals[${token}].windowMs`, portal.windowMs);
    checkUtcOffsetMinutes(
      `portals[${token}].dailyResetUtcOffsetMinutes`,
      portal.dailyResetUtcOffsetMinutes ?? 0,
    );
    const latency =
      portal.latencyMs === undefined
        ? undefined
        : resolveLatency(portal.latencyMs, `portals[${token}].latencyMs`);
    if (latency) latencies[portal.portalId] = latency;
    const key = JSON.stringify([portal.dailyResetUtcOffsetMinutes ?? 0, latency ?? null]);
    const first = seen.get(portal.portalId);
    if (first && first.key !== key) {
      throw new RangeError(
        `portals[${token}] and portals[${first.token}] name portal ${portal.portalId} with different ` +
          'latencyMs or dailyResetUtcOffsetMinutes',
      );
    }
    if (!first) seen.set(portal.portalId, { token, key });
  }
  return latencies;
}

/** The rate budget of a configured portal, defaults filled. */
export function rateLimitOf(portal: PortalConfig): RateLimitConfig {
  return {
    maxRequests: portal.maxRequests,
    windowMs: portal.windowMs,
    dailyLimit: portal.dailyLimit === undefined ? DEFAULT_RATE_LIMIT.dailyLimit : portal.dailyLimit,
    policyName: portal.policyName ?? 'TEN_SECONDLY_ROLLING',
    dailyResetUtcOffsetMinutes: portal.dailyResetUtcOffsetMinutes ?? 0,
  };
}
