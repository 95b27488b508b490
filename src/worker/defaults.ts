import { DEFAULT_MAX_ATTEMPTS } from '../hubspot/policy.js';

/**
 * The worker's defaults, in one place: `createWorker` fills what its options leave out from here, and the
 * configuration schema (`config.ts`) takes its defaults from here too, so the library and the process cannot
 * disagree.
 */
export const WORKER_DEFAULTS = {
  redisUrl: 'redis://127.0.0.1:6379',
  queueName: 'hubspot-updates',
  hubspotBaseUrl: 'https://api.hubapi.com',
  /**
   * The date version in HubSpot's paths. HubSpot ships one each March and September; a version is supported for 18
   * months after its release.
   */
  hubspotApiVersion: '2026-03',
  /** HubSpot's lowest private-app tier: 100 calls per 10 s. */
  maxRequests: 100,
  windowMs: 10_000,
  batchLingerMs: 250,
  batchMaxSize: 100,
  /**
   * Ceiling of batches in flight per worker. Below it, each account gets what its budget needs: its rate times
   * its calls' latency, with headroom (a 250-per-10-s account answering in 2 s keeps about 100).
   */
  concurrency: 100,
  /**
   * Slots of that ceiling one account never takes while other accounts are configured (at most half of it):
   * however slow one account's calls, another account's work finds a slot at once.
   */
  accountReserve: 10,
  /** Lease of a claimed batch: a dead worker's batches are sent again within about this long. */
  leaseMs: 5000,
  /** Hold after a call that may still apply. */
  ambiguousHoldMs: 60_000,
  livenessTimeoutMs: 60_000,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
  backoffBaseMs: 1000,
  backoffMaxMs: 300_000,
  authPauseMs: 60_000,
  httpTimeoutMs: 30_000,
  shutdownTimeoutMs: 30_000,
  outcomeTtlSeconds: 7 * 24 * 3600,
  /**
   * How long a unique property value's record id is kept once looked up (or learnt from an update that set it).
   * HubSpot's OBJECT_NOT_FOUND drops it sooner.
   */
  addressTtlSeconds: 24 * 3600,
  /**
   * How long the outcome stream keeps an entry (`subscribeOutcomes`, `outcomes --follow`): a consumer group that
   * falls further behind misses what was trimmed (it can still read each outcome by trace id).
   */
  outcomeStreamRetentionSeconds: 3600,
  validateProperties: true,
} as const;
