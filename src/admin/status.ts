import type { Redis } from 'ioredis';
import { categoryOfFailedStat, parseGroup, type QueueKeys } from '../keys.js';
import { type OutcomeRecordFormat, recordFormatOf } from '../outcomes/record.js';
import { readQueueDepth } from '../queue-depth.js';
import type { RateLimitState } from '../ratelimit/budget.js';
import { RateLimiter } from '../ratelimit/limiter.js';
import { countStranded, type StrandedJobs } from './stranded.js';

/** A worker counts as alive when its last heartbeat (every ~1 s) is at most this old. */
export const WORKER_ALIVE_MS = 10_000;

/** Updates by state. */
export interface QueueDepth {
  /** Enqueued, not yet ingested (BullMQ's wait list). */
  waiting: number;
  /** Ingested and claimable. */
  pending: number;
  /** In a batch being sent. */
  inflight: number;
  /** Waiting out a retry backoff. */
  delayed: number;
  /** Could not be routed; the worker fails them with a validation error. */
  invalid: number;
}

/** An account's configured budget, as `status` shows it (an `AccountSettings` of the configuration will do). */
export interface StatusBudget {
  maxRequests: number;
  windowMs: number;
  dailyLimit?: number;
  /** Default 0. */
  dailyReserve?: number;
}

/** One account's configured budget and its shared limiter state (see {@link RateLimitState}). */
export interface AccountStatus
  extends Pick<
    RateLimitState,
    | 'paused'
    | 'pauseReason'
    | 'pausedUntil'
    | 'policyName'
    | 'detail'
    | 'grantsInWindow'
    | 'effectiveMax'
    | 'dailyCount'
    | 'reportedMax'
    | 'reportedRemaining'
    | 'reportedDailyRemaining'
    | 'observedAt'
  > {
  account: string;
  /** Configured budget; absent for an account that has updates queued but no configuration. */
  budget?: { maxRequests: number; windowMs: number; dailyLimit?: number; dailyReserve: number };
}

/** Everything the `status` command shows, as read at one moment. */
export interface QueueStatus {
  queue: string;
  /**
   * The BullMQ queue names of the queue's shards, shard 0 (`queue`) first, when it has more than one (see
   * `QUEUE_SHARDS`): a BullMQ client enqueues an account's updates to its shard's queue.
   */
  shards?: string[];
  /** Redis's clock (epoch ms) when the status was read; every age is relative to it. */
  at: number;
  depth: QueueDepth;
  /** Age of the oldest update not yet sent (waiting or pending); null when there is none. */
  oldestWaitingAgeMs: number | null;
  /** Jobs a BullMQ producer left in states the worker never reads (added with `delay`, `priority`, ...). */
  stranded: StrandedJobs;
  accounts: AccountStatus[];
  /** Outcome counters since the queue was created. */
  outcomes: { succeeded: number; failed: number; superseded: number };
  /** Failed updates by HubSpot's error category (or ours, e.g. VALIDATION_ERROR). */
  failedByCategory: Record<string, number>;
  /**
   * How outcome records are written (`record-format`): `object` while readers of versions before compact
   * records still use the queue; `mixed` when shards differ (a change cut half-way).
   */
  recordFormat: OutcomeRecordFormat | 'mixed';
  workers: {
    /** Workers whose heartbeat is at most {@link WORKER_ALIVE_MS} old. */
    alive: number;
    ids: string[];
    /** Registered workers whose heartbeat stopped (killed without a clean shutdown). */
    stale: number;
  };
}

export interface ReadStatusOptions {
  redis: Redis;
  keys: QueueKeys;
  /** Configured accounts and budgets (`accountsOf(config)` will do; tokens are not read). */
  accounts: ReadonlyMap<string, StatusBudget>;
}

/** Redis's clock, epoch ms. */
async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Ids of the workers whose heartbeat is at most {@link WORKER_ALIVE_MS} old. */
export async function liveWorkerIds(redis: Redis, keys: QueueKeys): Promise<string[]> {
  const at = await redisNow(redis);
  return (await redis.zrangebyscore(keys.workers, at - WORKER_ALIVE_MS, '+inf')).sort();
}

const count = (raw: string | undefined): number => {
  const n = Number(raw ?? 0);
  // Counters are adjusted by several scripts; a transient negative value means zero.
  return Number.isFinite(n) ? Math.max(0, n) : 0;
};

/**
 * Reads the queue's status from Redis: a handful of reads, none of them proportional to the number of
 * updates (only to the number of `account|objectType` groups).
 */
export async function readStatus(options: ReadStatusOptions): Promise<QueueStatus> {
  const { redis, keys } = options;
  // Enqueue times come from Redis's clock (TIME in the enqueue script), so ages are measured on it too.
  // Heartbeats carry each worker's own clock; NTP keeps that well within the 10 s liveness window.
  const at = await redisNow(redis);

  const [{ stats, waiting, invalid, delayed, oldestJobIds }, groups, alive, stale, stranded, format] =
    await Promise.all([
      readQueueDepth(redis, keys),
      redis.smembers(keys.groups),
      redis.zrangebyscore(keys.workers, at - WORKER_ALIVE_MS, '+inf'),
      redis.zcount(keys.workers, '-inf', `(${at - WORKER_ALIVE_MS}`),
      countStranded(redis, keys),
      redis.get(keys.recordFormat),
    ]);

  const oldest = await oldestEnqueueTime(redis, keys, oldestJobIds, groups);
  const failedByCategory: Record<string, number> = {};
  for (const [field, value] of Object.entries(stats).sort(([a], [b]) => a.localeCompare(b))) {
    const category = categoryOfFailedStat(field);
    if (category === undefined) continue;
    const n = count(value);
    if (n > 0) failedByCategory[category] = n;
  }

  return {
    queue: keys.queueName,
    at,
    depth: {
      waiting,
      pending: count(stats.pending),
      inflight: count(stats.inflight),
      delayed,
      invalid,
    },
    oldestWaitingAgeMs: oldest === undefined ? null : Math.max(0, at - oldest),
    stranded,
    accounts: await readAccounts(options, groups),
    outcomes: {
      succeeded: count(stats.succeeded),
      failed: count(stats.failed),
      superseded: count(stats.superseded),
    },
    failedByCategory,
    recordFormat: recordFormatOf(format),
    workers: { alive: alive.length, ids: alive.sort(), stale },
  };
}

/**
 * The earliest enqueue time among the wait list's oldest job, each group's oldest pending object and its oldest
 * address waiting for resolution (updates addressed by a unique value no record is known for yet).
 */
async function oldestEnqueueTime(
  redis: Redis,
  keys: QueueKeys,
  oldestJobIds: ReadonlyArray<string | null>,
  groups: string[],
): Promise<number | undefined> {
  const jobIds = oldestJobIds.filter((id): id is string => id !== null);
  const [jobTimestamps, heads, unresolved] = await Promise.all([
    Promise.all(jobIds.map((id) => redis.hget(keys.jobPrefix + id, 'timestamp'))),
    Promise.all(groups.map((g) => redis.zrange(keys.pending(g), 0, 0, 'WITHSCORES'))),
    Promise.all(groups.map((g) => redis.zrange(keys.unresolvedAddresses(g), 0, 0, 'WITHSCORES'))),
  ]);
  const times = [...jobTimestamps, ...heads.map((h) => h[1]), ...unresolved.map((h) => h[1])]
    .map((v) => Number(v ?? Number.NaN))
    .filter((v) => Number.isFinite(v) && v > 0);
  return times.length > 0 ? Math.min(...times) : undefined;
}

/** Configured accounts first (in configuration order), then accounts that only appear in queued groups. */
async function readAccounts(options: ReadStatusOptions, groups: string[]): Promise<AccountStatus[]> {
  const names = [...options.accounts.keys()];
  for (const group of groups) {
    const { account } = parseGroup(group);
    if (account && !names.includes(account)) names.push(account);
  }
  const limiter = new RateLimiter({ redis: options.redis, keys: options.keys });
  return Promise.all(
    names.map(async (account): Promise<AccountStatus> => {
      const settings = options.accounts.get(account);
      const budget = settings
        ? {
            maxRequests: settings.maxRequests,
            windowMs: settings.windowMs,
            ...(settings.dailyLimit !== undefined ? { dailyLimit: settings.dailyLimit } : {}),
            dailyReserve: settings.dailyReserve ?? 0,
          }
        : undefined;
      const state = await limiter.state(account, budget);
      return {
        account,
        ...(budget ? { budget } : {}),
        paused: state.paused,
        ...(state.pauseReason !== undefined ? { pauseReason: state.pauseReason } : {}),
        ...(state.pausedUntil !== undefined ? { pausedUntil: state.pausedUntil } : {}),
        ...(state.policyName !== undefined ? { policyName: state.policyName } : {}),
        ...(state.detail !== undefined ? { detail: state.detail } : {}),
        grantsInWindow: state.grantsInWindow,
        effectiveMax: state.effectiveMax,
        dailyCount: state.dailyCount,
        ...(state.reportedMax !== undefined ? { reportedMax: state.reportedMax } : {}),
        ...(state.reportedRemaining !== undefined ? { reportedRemaining: state.reportedRemaining } : {}),
        ...(state.reportedDailyRemaining !== undefined
          ? { reportedDailyRemaining: state.reportedDailyRemaining }
          : {}),
        ...(state.observedAt !== undefined ? { observedAt: state.observedAt } : {}),
      };
    }),
  );
}
