import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { type QueueKeys, queueKeys } from '../keys.js';
import type { Outcome } from '../outcomes/outcome.js';
import { isRecordFormat, type OutcomeRecordFormat, recordFormatOf } from '../outcomes/record.js';
import { RateLimiter } from '../ratelimit/limiter.js';
import { connectRedis } from '../redis.js';
import { shardCountGuard, shardOfAccount, shardQueueNames } from '../shards.js';
import {
  type FailedFilter,
  listFailed,
  type ReplayOptions,
  replayMembers,
  retryFailed,
  scanFailed,
} from './dead-letters.js';
import { type FailAccountOptions, type FailAccountResult, failAccount } from './fail-account.js';
import {
  liveWorkersRefusal,
  type ObliterateOptions,
  type ObliterateResult,
  obliterate,
} from './obliterate.js';
import { type PruneResult, pruneFailed } from './prune.js';
import { liveWorkerIds, type QueueStatus, readStatus, type StatusBudget } from './status.js';
import { mergeStatuses } from './status-merge.js';

/** The workers' default `OUTCOME_TTL_SECONDS`: 7 days. */
const DEFAULT_OUTCOME_TTL_SECONDS = 7 * 24 * 3600;

export interface QueueAdminOptions {
  /**
   * Redis URL (default `redis://127.0.0.1:6379`; `redis+cluster://host:port` for a Cluster), or an ioredis
   * connection (`Redis` or `Cluster`) the caller owns and closes.
   */
  redis?: string | Redis | Cluster;
  /** BullMQ queue name (default `hubspot-updates`). */
  queueName?: string;
  /** The queue's shards (`QUEUE_SHARDS`, default 1). */
  shards?: number;
  /**
   * The workers' `OUTCOME_TTL_SECONDS` (default 7 days): outcomes written by `failAccount` live this long, and
   * `pruneFailed` drops dead letters older than this.
   */
  outcomeTtlSeconds?: number;
  /**
   * Configured budgets by account, shown by `status` (e.g. `accountsOf(config)`; tokens are never read).
   * Accounts that only have updates queued are shown too, without a budget.
   */
  accounts?: ReadonlyMap<string, StatusBudget> | Readonly<Record<string, StatusBudget>>;
}

/**
 * Operator actions on one queue, the ones the CLI's `failed`, `retry-failed`, `fail-account`,
 * `resume-account`, `status` and `obliterate` run. Every change is one Lua script or one key operation, so it is
 * safe while workers run (except `obliterate`, which refuses then).
 */
export interface QueueAdmin {
  readonly queueName: string;
  /** Failed updates (the dead letters), newest first, filtered by account, object type and error category. */
  listFailed(filter?: FailedFilter): Promise<Outcome[]>;
  /**
   * Puts failed updates matching the filter back in the queue; each is fenced like any other write, so a replay
   * never overwrites a newer value. Returns the trace ids replayed (with `dryRun`, that would be): unroutable
   * updates, whose jobs are gone, cannot be.
   */
  retryFailed(filter?: FailedFilter, options?: ReplayOptions): Promise<string[]>;
  /**
   * One bounded pass over the dead-letter index: entries older than the outcome TTL, or whose outcome record
   * is gone, are removed and leave the failure counts. Successive calls walk the whole index; workers run it
   * on their own.
   */
  pruneFailed(options?: { maxAged?: number; maxChecked?: number }): Promise<PruneResult>;
  /**
   * Fails every waiting update of the account (those still in BullMQ's wait list included; the holds of its
   * objects stay) and marks its batches in flight to fail what they would hand back; `failed` counts the
   * first, `inFlight` the updates the marked batches hold.
   */
  failAccount(account: string, options?: FailAccountOptions): Promise<FailAccountResult>;
  /** Lifts the account's pause (a daily stop included) on every replica. */
  resumeAccount(account: string): Promise<void>;
  /**
   * How workers and admin commands write outcome records, by shard (shard 0 first): `compact` unless set (see
   * {@link OutcomeRecordFormat}). Shards that differ are a change that stopped half-way: set it again.
   */
  recordFormats(): Promise<OutcomeRecordFormat[]>;
  /**
   * Sets how outcome records are written, on every shard: `object` while producers of a version before compact
   * records still use the queue, `compact` once they are upgraded. Every script that ends updates reads it, so
   * the next record written follows it. Safe to run again.
   * @throws RangeError for a value that is not a format.
   */
  setRecordFormat(format: OutcomeRecordFormat): Promise<void>;
  /** Depth by state, stranded BullMQ jobs, oldest waiting age, budgets and pauses, failures and workers. */
  status(): Promise<QueueStatus>;
  /**
   * Deletes every key of the queue and nothing of any other queue; refuses with `ObliterateRefusedError`
   * while workers of the queue are alive, unless `force`.
   */
  obliterate(options?: ObliterateOptions): Promise<ObliterateResult>;
  /** Closes the connection when the admin opened it. */
  close(): Promise<void>;
}

/** Creates the admin of one queue (all its shards); see {@link QueueAdmin}. */
export function createQueueAdmin(options: QueueAdminOptions = {}): QueueAdmin {
  const names = shardQueueNames(options.queueName ?? 'hubspot-updates', options.shards ?? 1);
  const owned = typeof options.redis !== 'object';
  // A Cluster client is handled as a Redis one: the admin uses only commands both share, and obliterate
  // looks at `isCluster` to scan every master.
  const redis =
    typeof options.redis === 'object'
      ? (options.redis as Redis)
      : connectRedis(options.redis ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 });
  // ioredis reconnects by itself; without a listener a dropped connection would print an unhandled error.
  if (owned) redis.on('error', () => {});
  const outcomeTtlSeconds = options.outcomeTtlSeconds ?? DEFAULT_OUTCOME_TTL_SECONDS;
  const accounts =
    options.accounts instanceof Map
      ? (options.accounts as ReadonlyMap<string, StatusBudget>)
      : new Map(Object.entries(options.accounts ?? {}));
  const shards = names.map((name, index) =>
    shardAdmin(
      redis,
      queueKeys(name),
      outcomeTtlSeconds,
      // Each shard shows the configured accounts it holds (and any other its groups name).
      new Map([...accounts].filter(([account]) => shardOfAccount(account, names.length) === index)),
    ),
  );
  // Reads and changes on a queue of another shard count would see or touch only some of its shards.
  const checked = shardCountGuard(
    redis,
    queueKeys(names[0] as string).shardCount,
    names[0] as string,
    names.length,
    {
      readOnly: true,
    },
  );
  const home = async (account: string) => {
    await checked();
    return shards[shardOfAccount(account, shards.length)] as ShardAdmin;
  };
  const each = async <T>(fn: (s: ShardAdmin) => Promise<T>) => {
    await checked();
    return Promise.all(shards.map(fn));
  };

  return {
    queueName: names[0] as string,
    listFailed: async (filter = {}) => {
      if (filter.account !== undefined) return (await home(filter.account)).listFailed(filter);
      const all = (await each((s) => s.listFailed(filter))).flat();
      // Newest first across shards, as each shard lists its own.
      all.sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
      return filter.limit !== undefined ? all.slice(0, filter.limit) : all;
    },
    retryFailed: async (filter = {}, replay = {}) => {
      if (filter.account !== undefined) return (await home(filter.account)).retryFailed(filter, replay);
      const requestId = replay.requestId ?? randomUUID();
      if (filter.limit === undefined) {
        return (await each((s) => s.retryFailed(filter, { ...replay, requestId }))).flat();
      }
      // The newest `limit` across the shards, as listFailed picks them, each replayed in its own shard.
      const found = await each(async (s) => {
        const out: Array<{ member: string; finishedAt: number }> = [];
        for await (const { member, outcome } of scanFailed(redis, s.keys, filter)) {
          out.push({ member, finishedAt: outcome.finishedAt ?? 0 });
        }
        return out;
      });
      const newest = found
        .flatMap((list, shard) => list.map((f) => ({ ...f, shard })))
        .sort((a, b) => b.finishedAt - a.finishedAt)
        .slice(0, filter.limit);
      const replayed = await Promise.all(
        shards.map((s, shard) =>
          replayMembers(
            redis,
            s.keys,
            newest.filter((f) => f.shard === shard).map((f) => f.member),
            { ...replay, requestId },
          ),
        ),
      );
      return replayed.flat();
    },
    pruneFailed: async (prune = {}) => {
      const results = await each((s) => s.pruneFailed(prune));
      return {
        aged: results.reduce((n, r) => n + r.aged, 0),
        gone: results.reduce((n, r) => n + r.gone, 0),
        cursor: results[0]?.cursor ?? 0,
      };
    },
    failAccount: async (account, fail = {}) => (await home(account)).failAccount(account, fail),
    resumeAccount: async (account) => (await home(account)).resumeAccount(account),
    recordFormats: async () => (await each((s) => redis.get(s.keys.recordFormat))).map(recordFormatOf),
    setRecordFormat: async (format) => {
      if (!isRecordFormat(format)) {
        throw new RangeError(`record format must be "compact" or "object", got ${JSON.stringify(format)}`);
      }
      await each((s) => redis.set(s.keys.recordFormat, format));
    },
    status: async () => mergeStatuses(await each((s) => s.status()), [...accounts.keys()]),
    obliterate: async (wipe = {}) => {
      await checked();
      // Every shard's live workers are looked at before any shard is deleted, so a refusal deletes nothing.
      if (!wipe.force && names.length > 1) {
        const live = [
          ...new Set((await Promise.all(names.map((n) => liveWorkerIds(redis, queueKeys(n))))).flat()),
        ];
        if (live.length > 0) throw liveWorkersRefusal(names[0] as string, live.sort());
      }
      // Shard 0, which records the shard count, goes last: while any shard still holds data the count stays.
      const results: ObliterateResult[] = [];
      for (const s of [...shards].reverse()) results.push(await s.obliterate(wipe));
      return {
        keys: results.reduce((n, r) => n + r.keys, 0),
        liveWorkers: [...new Set(results.flatMap((r) => r.liveWorkers))].sort(),
      };
    },
    async close() {
      if (owned) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

type ShardAdmin = Omit<QueueAdmin, 'queueName' | 'close' | 'recordFormats' | 'setRecordFormat'> & {
  readonly keys: QueueKeys;
};

/** The admin of one shard (a queue of one shard is its only one). */
function shardAdmin(
  redis: Redis,
  keys: QueueKeys,
  outcomeTtlSeconds: number,
  accounts: ReadonlyMap<string, StatusBudget>,
): ShardAdmin {
  // Where the next pruning pass resumes (see pruneFailed).
  let pruneCursor = 0;
  const limiter = new RateLimiter({ redis, keys });
  return {
    keys,
    listFailed: (filter) => listFailed(redis, keys, filter),
    retryFailed: (filter, replay) => retryFailed(redis, keys, filter, replay),
    pruneFailed: async (prune = {}) => {
      const r = await pruneFailed(redis, keys, { ...prune, outcomeTtlSeconds, cursor: pruneCursor });
      pruneCursor = r.cursor;
      return r;
    },
    failAccount: (account, fail = {}) => failAccount(redis, keys, account, { ...fail, outcomeTtlSeconds }),
    resumeAccount: (account) => limiter.resume(account),
    status: () => readStatus({ redis, keys, accounts }),
    obliterate: (wipe) => obliterate(redis, keys, wipe),
  };
}
