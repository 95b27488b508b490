import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { RateLimiter } from '../ratelimit/limiter.js';
import type { CallDemand } from './demand.js';
import type { MetricLabels } from './labels.js';
import { heldPauseBoundMs, schemaFetchGate } from './pauses.js';
import type { BatchContext } from './run-batch.js';
import { SchemaCache } from './schema-cache.js';
import type { WorkerSettings } from './settings.js';
import type { QueueStore } from './store.js';

/** How long a property schema is served before it is fetched again (in the background, see `SchemaCache`). */
const SCHEMA_TTL_MS = 10 * 60_000;

/**
 * The rate limiter and what every batch of the worker shares (`BatchContext`), built from the worker's settings:
 * the limiter records its waits in metrics, the schema cache takes a grant before each fetch and gives up a
 * background refresh once `signal` aborts (the worker closing).
 */
export function wireBatches(options: {
  settings: WorkerSettings;
  redis: Redis;
  keys: QueueKeys;
  store: QueueStore;
  labels: MetricLabels;
  demand: CallDemand;
  signal: AbortSignal;
}): { limiter: RateLimiter; batchContext: BatchContext } {
  const { settings, labels } = options;
  const limiter = new RateLimiter({
    redis: options.redis,
    keys: options.keys,
    ...(settings.rateLimitMarginMs !== undefined ? { marginMs: settings.rateLimitMarginMs } : {}),
    onWait: (account, ms, reason) =>
      settings.metrics?.rateLimitWait.inc({ account: labels.account(account), reason }, ms / 1000),
  });
  const schemas = new SchemaCache({
    port: settings.port,
    ttlMs: SCHEMA_TTL_MS,
    signal: options.signal,
    logger: settings.logger,
    beforeFetch: schemaFetchGate(limiter, settings.budgetFor, heldPauseBoundMs(settings.leaseMs)),
  });
  const batchContext: BatchContext = {
    port: settings.port,
    store: options.store,
    limiter,
    schemas,
    logger: settings.logger,
    ...(settings.metrics ? { metrics: settings.metrics } : {}),
    labels,
    demand: options.demand,
    ...(settings.limits ? { limits: settings.limits } : {}),
    validateProperties: settings.validateProperties,
    leaseMs: settings.leaseMs,
    ambiguousHoldMs: settings.ambiguousHoldMs,
    httpTimeoutMs: settings.httpTimeoutMs,
    authPauseMs: settings.authPauseMs,
    maxAttempts: settings.maxAttempts,
    backoffBaseMs: settings.backoffBaseMs,
    backoffMaxMs: settings.backoffMaxMs,
  };
  return { limiter, batchContext };
}
