import type { Redis } from 'ioredis';
import { closeConnection } from '../connections.js';
import { type QueueKeys, queueKeys } from '../keys.js';
import type { Outcome } from '../outcomes/outcome.js';
import type { OutcomeSubscription, SubscribeOptions } from '../outcomes/subscribe.js';
import { byDeadline, WaitTimeoutError } from '../outcomes/wait.js';

export { WaitTimeoutError };

import { ShardReads } from '../outcomes/shard-reads.js';
import { connectRedis } from '../redis.js';
import { placeOf, ShardCountMismatchError, shardCountGuard, shardQueueNames } from '../shards.js';
import type { Explanation } from '../story/explain.js';
import {
  canonicalJobData,
  parseUpdate,
  type Update,
  type UpdateLimits,
  type UpdateRequest,
  UpdateValidationError,
} from '../update.js';
import { ENQUEUE_CHUNK, type EnqueueResult, enqueueShard } from './enqueue-shard.js';
import { reviewAcrossShards } from './shard-review.js';
import { type TraceIdConflict, TraceIdConflictError } from './trace-ids.js';

export interface ProducerOptions {
  /** Redis URL (default `redis://127.0.0.1:6379`), or an ioredis connection the caller owns. */
  redis?: string | Redis;
  /** BullMQ queue name (default `hubspot-updates`). */
  queueName?: string;
  /** The queue's shards (`QUEUE_SHARDS`, default 1): every producer and worker of a queue uses the same. */
  shards?: number;
  /** Size limits (default: values of at most 65,536 characters, at most 1,000 properties per update). */
  limits?: Partial<UpdateLimits>;
}

export type { EnqueueResult } from './enqueue-shard.js';

/**
 * Requests the producer validated once (see {@link Producer.validate}): `updates` are the valid ones, `issues`
 * name every invalid one by its index. `enqueueMany` and `checkTraceIds` take them without validating again
 * (they refuse a set with issues).
 */
export interface CheckedUpdates {
  readonly updates: readonly Update[];
  readonly issues: ReadonlyArray<{ index: number; issues: string[] }>;
  /** The valid updates from `start` to `end`, still checked. */
  slice(start: number, end?: number): CheckedUpdates;
}

/** How the trace ids of some updates stand, without enqueueing them (see {@link Producer.checkTraceIds}). */
export interface TraceIdCheck {
  /** Updates whose trace id is already used for a different update: enqueueing them is refused. */
  conflicts: TraceIdConflict[];
  /** Indexes of updates whose trace id is already used for the same update: enqueueing them is a no-op. */
  duplicates: number[];
}

export interface Producer {
  /**
   * Validates and enqueues one update. Throws {@link UpdateValidationError} naming every problem, or
   * {@link TraceIdConflictError} when its trace id is already used for a different update. Enqueueing the same
   * update (same trace id, same content) again is a duplicate: nothing is added.
   */
  enqueue(update: UpdateRequest): Promise<EnqueueResult>;
  /**
   * Validates every update and checks every trace id first, and enqueues nothing if any update is invalid
   * ({@link UpdateValidationError}) or reuses a trace id for a different update, in Redis or earlier in the list
   * ({@link TraceIdConflictError}); both name each bad update by its index. Otherwise enqueues all, in order,
   * and returns one result per update.
   */
  enqueueMany(updates: readonly UpdateRequest[] | CheckedUpdates): Promise<EnqueueResult[]>;
  /**
   * Validates requests without enqueueing them: every problem named by index. The result can be handed to
   * `enqueueMany` and `checkTraceIds`, which then do not validate again.
   */
  validate(updates: readonly unknown[]): CheckedUpdates;
  /**
   * Validates the updates and looks their trace ids up, read-only: which reuse a trace id for the same update
   * (duplicates) and which for a different one (conflicts). Throws {@link UpdateValidationError} like
   * `enqueueMany`.
   */
  checkTraceIds(updates: readonly UpdateRequest[] | CheckedUpdates): Promise<TraceIdCheck>;
  /** The outcome of one update: `queued` while waiting, null for a trace id never seen (or expired). */
  getOutcome(objectWriteTraceId: string): Promise<Outcome | null>;
  getOutcomes(objectWriteTraceIds: readonly string[]): Promise<Array<Outcome | null>>;
  /**
   * One update's story: enqueued, ingested, each batch it was in (with the updates merged into its input), each
   * HubSpot call that carried it (time, status, correlation id, attempt, wait for budget) and its outcome; or
   * `{ seen: false }` for a trace id never enqueued or whose outcome expired.
   */
  explain(objectWriteTraceId: string): Promise<Explanation>;
  /**
   * Delivers every terminal outcome to a consumer group, at least once, with acknowledgements (see
   * {@link SubscribeOptions}); on a connection of its own.
   */
  subscribeOutcomes(options: SubscribeOptions): OutcomeSubscription;
  /** Resolves once every id has a terminal outcome; rejects with {@link WaitTimeoutError} after `timeoutMs`. */
  waitForOutcomes(
    objectWriteTraceIds: readonly string[],
    options?: { timeoutMs?: number },
  ): Promise<Outcome[]>;
  close(): Promise<void>;
}

/** How long `close()` waits for Redis to answer QUIT before dropping the connection (it may be reconnecting). */
const CLOSE_TIMEOUT_MS = 1_000;

/** Sets of updates this module validated: only those are taken without validating again. */
const checkedSets = new WeakSet<CheckedUpdates>();

function checked(updates: readonly Update[], issues: CheckedUpdates['issues']): CheckedUpdates {
  const set: CheckedUpdates = {
    updates,
    issues,
    slice: (start, end) => checked(updates.slice(start, end), []),
  };
  checkedSets.add(set);
  return set;
}

/** Validates a list of requests, collecting every problem by index. */
export function validateUpdates(
  updates: readonly unknown[],
  limits: Partial<UpdateLimits> = {},
): CheckedUpdates {
  const valid: Update[] = [];
  const issues: Array<{ index: number; issues: string[] }> = [];
  updates.forEach((u, index) => {
    const parsed = parseUpdate(u, limits);
    if (parsed.ok) valid.push(parsed.update);
    else issues.push({ index, issues: parsed.issues });
  });
  return checked(valid, issues);
}

/** The valid updates of a request list, validated here unless this module already did; throws naming every problem. */
function validOnly(
  input: readonly unknown[] | CheckedUpdates,
  limits: Partial<UpdateLimits>,
): readonly Update[] {
  const set =
    'updates' in input && checkedSets.has(input) ? input : validateUpdates(input as unknown[], limits);
  if (set.issues.length > 0) {
    throw new UpdateValidationError(set.issues.map((p) => `update ${p.index}: ${p.issues.join('; ')}`));
  }
  return set.updates;
}

/** Creates a producer: the API backend code uses to hand updates to the queue and read their outcomes. */
export function createProducer(options: ProducerOptions = {}): Producer {
  const queueName = options.queueName ?? 'hubspot-updates';
  const shards = shardQueueNames(queueName, options.shards ?? 1).map(queueKeys);
  const owned = typeof options.redis !== 'object';
  const redis =
    typeof options.redis === 'object'
      ? options.redis
      : connectRedis(options.redis ?? 'redis://127.0.0.1:6379', {
          maxRetriesPerRequest: 3,
        });
  // ioredis reconnects by itself; without a listener a dropped connection would print an unhandled error.
  if (owned) redis.on('error', () => {});

  const limits = options.limits ?? {};

  const review = (updates: readonly Update[], data: readonly string[]) =>
    reviewAcrossShards(redis, shards, updates, data);

  // The queue's shard count is recorded or checked before the first enqueue, and checked (never recorded) before
  // reads: a producer given another count would look for outcomes in the wrong shards and report them unknown.
  const shardCountKey = (shards[0] as QueueKeys).shardCount;
  const checkCount = shardCountGuard(redis, shardCountKey, queueName, shards.length);
  // Once the count agrees, each shard with no place recorded yet gets this producer's, so it files its updates
  // itself before any worker started (a worker records its own at start; an enqueue to a shard whose recorded
  // place differs leaves its updates to ingest).
  let placed: Promise<void> | undefined;
  const checkShards = async () => {
    await checkCount();
    placed ??= Promise.all(
      shards.map((k, index) => redis.set(k.shardPlace, placeOf({ index, count: shards.length }), 'NX')),
    ).then(
      () => undefined,
      (err: unknown) => {
        placed = undefined;
        throw err;
      },
    );
    await placed;
  };
  const checkReads = shardCountGuard(redis, shardCountKey, queueName, shards.length, { readOnly: true });

  async function enqueueValid(updates: readonly Update[]): Promise<EnqueueResult[]> {
    if (updates.length === 0) return [];
    await checkShards();
    const data = updates.map(canonicalJobData);
    if (shards.length === 1 && updates.length <= ENQUEUE_CHUNK) {
      // One script call is all or nothing by itself: the review (a read of every trace id) is only needed when
      // it refuses, to tell a conflict from the same update another BullMQ client wrote in another form.
      const results: EnqueueResult[] = [];
      try {
        await enqueueShard(
          redis,
          shards[0] as QueueKeys,
          { index: 0, count: 1 },
          updates,
          data,
          [],
          (i) => i,
          (i, r) => {
            results[i] = r;
          },
        );
        return results;
      } catch (err) {
        if (!(err instanceof TraceIdConflictError)) throw err;
      }
    }
    const { parts, conflicts, accepted } = await review(updates, data);
    if (conflicts.length > 0) throw new TraceIdConflictError(conflicts);
    const results: Array<EnqueueResult | undefined> = updates.map(() => undefined);
    const enqueued = () => results.filter((r): r is EnqueueResult => r !== undefined);
    try {
      for (const [shard, indexes] of parts.entries()) {
        if (indexes.length === 0) continue;
        await enqueueShard(
          redis,
          shards[shard] as QueueKeys,
          { index: shard, count: shards.length },
          indexes.map((i) => updates[i] as Update),
          indexes.map((i) => data[i] as string),
          indexes.map((i) => accepted[i] ?? ''),
          (local) => indexes[local] as number,
          (local, result) => {
            results[indexes[local] as number] = result;
          },
        );
      }
    } catch (err) {
      if (err instanceof TraceIdConflictError) throw new TraceIdConflictError(err.conflicts, enqueued());
      throw err;
    }
    return enqueued();
  }

  const reads = new ShardReads(redis, shards);

  return {
    async enqueue(update) {
      const [result] = await enqueueValid(validOnly([update], limits));
      return result as EnqueueResult;
    },
    async enqueueMany(updates) {
      return enqueueValid(validOnly(updates, limits));
    },
    validate(updates) {
      return validateUpdates(updates, limits);
    },
    async checkTraceIds(updates) {
      const valid = validOnly(updates, limits);
      if (valid.length === 0) return { conflicts: [], duplicates: [] };
      await checkShards();
      const { conflicts, duplicates } = await review(valid, valid.map(canonicalJobData));
      return { conflicts, duplicates };
    },
    async getOutcome(id) {
      await checkReads();
      const [o] = await reads.outcomes([id]);
      return o ?? null;
    },
    async getOutcomes(ids) {
      await checkReads();
      return reads.outcomes(ids);
    },
    async explain(id) {
      await checkReads();
      return reads.explain(id);
    },
    subscribeOutcomes(subscription) {
      return reads.subscribe(subscription);
    },
    async waitForOutcomes(ids, { timeoutMs = 60_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      // Only a mismatch stops a wait here: through a Redis outage the wait's own reads retry until its deadline.
      await byDeadline(checkReads(), deadline, () => new Error('shard count not read in time')).catch(
        (err: unknown) => {
          if (err instanceof ShardCountMismatchError) throw err;
        },
      );
      return reads.wait(ids, Math.max(0, deadline - Date.now()));
    },
    async close() {
      await reads.close();
      if (owned) await closeConnection(redis, CLOSE_TIMEOUT_MS);
    },
  };
}
