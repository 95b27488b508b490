import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { isTerminal } from '../outcomes/outcome.js';
import { fingerprintOfRecord, parseOutcomeRecord } from '../outcomes/record.js';
import { canonicalOfJobData, fingerprint, jobIdFor, type Update } from '../update.js';

/** Trace ids looked up per pipeline. */
const CHUNK = 500;

/**
 * What already holds a trace id reused for a different update: a job still in Redis (`queued`: waiting, in
 * flight, retrying, or failed and kept for replay), only the outcome of a finished update (`finished`), or an
 * earlier update of the same call (its index).
 */
export type TraceIdHolder = 'queued' | 'finished' | number;

/** One update whose trace id is already used for a different update. */
export interface TraceIdConflict {
  /** Position of the update in the call. */
  index: number;
  objectWriteTraceId: string;
  usedBy: TraceIdHolder;
}

/**
 * `<name>: objectWriteTraceId "x" is already used for a different update (by ...)`; `name` names an update by
 * its index (`update 3`, or `line 7` in the CLI).
 */
export function describeConflict(c: TraceIdConflict, name: (index: number) => string): string {
  const holder =
    typeof c.usedBy === 'number'
      ? name(c.usedBy)
      : c.usedBy === 'queued'
        ? 'an update still in the queue'
        : 'an update that has finished';
  const trace = JSON.stringify(c.objectWriteTraceId);
  return `${name(c.index)}: objectWriteTraceId ${trace} is already used for a different update (by ${holder})`;
}

/**
 * A reused trace id with a different payload: nothing of the call was enqueued (apart from `enqueued`, the chunks
 * another producer's concurrent enqueue had not yet collided with, normally none).
 */
export class TraceIdConflictError extends Error {
  readonly code = 'TRACE_ID_CONFLICT';
  constructor(
    readonly conflicts: TraceIdConflict[],
    readonly enqueued: ReadonlyArray<{ objectWriteTraceId: string; duplicate: boolean }> = [],
  ) {
    super(conflicts.map((c) => describeConflict(c, (i) => `update ${i}`)).join('; '));
    this.name = 'TraceIdConflictError';
  }
}

/** Per update of a call: how its trace id stands, read-only. */
export interface TraceIdReview {
  conflicts: TraceIdConflict[];
  /** Indexes of updates whose trace id is already used for the same update: they are not enqueued again. */
  duplicates: number[];
  /**
   * Per update, the SHA-1 of an existing job's data that is the same update in another form (written by another
   * BullMQ client), for the enqueue script to accept; '' otherwise.
   */
  accepted: string[];
}

interface Existing {
  data: string | null;
  record: string | null;
}

async function lookUp(redis: Redis, keys: QueueKeys, traceIds: string[]): Promise<Map<string, Existing>> {
  const found = new Map<string, Existing>();
  for (let i = 0; i < traceIds.length; i += CHUNK) {
    const chunk = traceIds.slice(i, i + CHUNK);
    const pipeline = redis.pipeline();
    for (const t of chunk) {
      pipeline.hget(keys.jobPrefix + jobIdFor(t), 'data');
      pipeline.get(keys.outcome(t));
    }
    const replies = (await pipeline.exec()) ?? [];
    chunk.forEach((t, j) => {
      const [dataErr, data] = replies[j * 2] ?? [null, null];
      const [recordErr, record] = replies[j * 2 + 1] ?? [null, null];
      if (dataErr) throw dataErr;
      if (recordErr) throw recordErr;
      found.set(t, { data: (data as string | null) ?? null, record: (record as string | null) ?? null });
    });
  }
  return found;
}

/**
 * Checks the trace ids of validated updates against Redis (read-only) and against each other. `data[i]` is the
 * canonical job data of `updates[i]`. A trace id already used for the same update is a duplicate; for a different
 * one, a conflict.
 */
export async function reviewTraceIds(
  redis: Redis,
  keys: QueueKeys,
  updates: readonly Update[],
  data: readonly string[],
): Promise<TraceIdReview> {
  const existing = await lookUp(redis, keys, [...new Set(updates.map((u) => u.objectWriteTraceId))]);
  const review: TraceIdReview = { conflicts: [], duplicates: [], accepted: updates.map(() => '') };
  const firstInCall = new Map<string, number>();
  updates.forEach((u, index) => {
    const trace = u.objectWriteTraceId;
    const mine = data[index] as string;
    const conflict = (usedBy: TraceIdHolder) =>
      review.conflicts.push({ index, objectWriteTraceId: trace, usedBy });
    const found = existing.get(trace);
    if (found?.data != null) {
      if (found.data === mine) review.duplicates.push(index);
      else if (canonicalOfJobData(found.data, trace) === mine) {
        review.duplicates.push(index);
        review.accepted[index] = createHash('sha1').update(found.data).digest('hex');
      } else conflict(heldBy(found.record));
      return;
    }
    if (found?.record != null) {
      const fp = fingerprintOfRecord(found.record);
      // A record written before fingerprints existed cannot tell; it is taken to be the same update.
      if (fp === undefined || fp === fingerprint(mine)) review.duplicates.push(index);
      else conflict('finished');
      return;
    }
    const earlier = firstInCall.get(trace);
    if (earlier === undefined) firstInCall.set(trace, index);
    else if (data[earlier] === mine) review.duplicates.push(index);
    else conflict(earlier);
  });
  return review;
}

/**
 * What holds each of these trace ids in one shard: a stored job (`queued`, or `finished` when its outcome says
 * so), or only an outcome record (`finished`); ids the shard does not know are absent.
 */
export async function holdersIn(
  redis: Redis,
  keys: QueueKeys,
  traceIds: string[],
): Promise<Map<string, TraceIdHolder>> {
  const out = new Map<string, TraceIdHolder>();
  for (const [trace, found] of await lookUp(redis, keys, traceIds)) {
    if (found.data != null) out.set(trace, heldBy(found.record));
    else if (found.record != null) out.set(trace, 'finished');
  }
  return out;
}

/** A job that is still stored is `queued` unless its outcome says it finished (failed, kept for replay). */
function heldBy(record: string | null): TraceIdHolder {
  if (record === null) return 'queued';
  try {
    return isTerminal(parseOutcomeRecord(record).status) ? 'finished' : 'queued';
  } catch {
    return 'queued';
  }
}

/**
 * Trace ids a call gives to updates of different shards (`parts`: the call's indexes by shard): those are
 * different updates (different accounts), so the later one conflicts with the first. Within a shard,
 * {@link reviewTraceIds} checks the call and Redis.
 */
export function crossShardConflicts(
  updates: readonly Update[],
  parts: readonly (readonly number[])[],
): TraceIdConflict[] {
  if (parts.length <= 1) return [];
  const shardOf: number[] = [];
  parts.forEach((indexes, shard) => {
    for (const i of indexes) shardOf[i] = shard;
  });
  const first = new Map<string, number>();
  const conflicts: TraceIdConflict[] = [];
  updates.forEach((u, index) => {
    const trace = u.objectWriteTraceId;
    const earlier = first.get(trace);
    if (earlier === undefined) first.set(trace, index);
    else if (shardOf[earlier] !== shardOf[index])
      conflicts.push({ index, objectWriteTraceId: trace, usedBy: earlier });
  });
  return conflicts;
}
