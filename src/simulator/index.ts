/**
 * A HubSpot CRM simulator: a real HTTP server that behaves like HubSpot's batch-update and properties
 * endpoints (auth, rolling rate limits, validation, partial failures, faults), for integration tests,
 * benchmarks and the demo. See /work/shared/hubspot-api.md for the behaviour it reproduces.
 */

export type { AuthFailure } from './errors.js';
export type { FailNextOptions, FaultedCall, FaultOptions } from './faults.js';
export { HUBSPOT_BATCH_LATENCY, type LatencySpec, resolveLatency } from './latency.js';
export { DEFAULT_RATE_LIMIT, type PortalConfig, type SimulatorOptions } from './options.js';
export type { OutsideClientOptions } from './outside-client.js';
export type { RateLimitConfig } from './rate-limit.js';
export {
  builtInSchemas,
  type ObjectSchema,
  type ObjectSchemas,
  type PropertySchema,
  PropertyType,
} from './schema.js';
export { type Simulator, startSimulator } from './simulator.js';
export {
  type CallRecord,
  FaultKind,
  PolicyName,
  type RecordedFault,
  type SimObject,
  type SimStats,
} from './types.js';
