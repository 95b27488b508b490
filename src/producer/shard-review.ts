import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { partitionByShard, shardOfAccount } from '../shards.js';
import type { Update } from '../update.js';
import {
  crossShardConflicts,
  holdersIn,
  reviewTraceIds,
  type TraceIdConflict,
  type TraceIdHolder,
} from './trace-ids.js';

/** How the trace ids of one call stand over a queue's shards, by the call's indexes. */
export interface ShardReview {
  /** The call's indexes by the shard that takes them, each list in call order. */
  parts: number[][];
  conflicts: TraceIdConflict[];
  duplicates: number[];
  /** Per update, the SHA-1 of an existing job's data that is the same update in another form ('' otherwise). */
  accepted: string[];
}

/**
 * Checks the trace ids of a call (read-only) in the shards that would take its updates, as one shard does for a
 * queue of one shard, and, with several shards, in every other shard too: a trace id another shard holds belongs
 * to an update of another account, so reusing it is a conflict, in this call or any later one. An update is
 * never both a duplicate and a conflict. Costs one lookup pipeline per shard.
 */
export async function reviewAcrossShards(
  redis: Redis,
  shards: readonly QueueKeys[],
  updates: readonly Update[],
  data: readonly string[],
): Promise<ShardReview> {
  const parts = partitionByShard(updates, (u) => shardOfAccount(u.account, shards.length));
  while (parts.length < shards.length) parts.push([]);
  const conflicts = new Map<number, TraceIdConflict>();
  const duplicates = new Set<number>();
  const accepted: string[] = updates.map(() => '');
  // Updates whose trace id a shard other than theirs holds, and what holds it; trace ids any shard holds.
  const heldElsewhere = new Map<number, TraceIdHolder>();
  const known = new Set<string>();
  const traces = [...new Set(updates.map((u) => u.objectWriteTraceId))];
  await Promise.all(
    parts.map(async (indexes, shard) => {
      const keys = shards[shard] as QueueKeys;
      if (indexes.length > 0) {
        const r = await reviewTraceIds(
          redis,
          keys,
          indexes.map((i) => updates[i] as Update),
          indexes.map((i) => data[i] as string),
        );
        const at = (local: number) => indexes[local] as number;
        for (const c of r.conflicts) {
          const usedBy = typeof c.usedBy === 'number' ? at(c.usedBy) : c.usedBy;
          conflicts.set(at(c.index), { ...c, index: at(c.index), usedBy });
        }
        for (const d of r.duplicates) duplicates.add(at(d));
        r.accepted.forEach((a, local) => {
          accepted[at(local)] = a;
        });
      }
      if (shards.length === 1) return;
      // Every trace id of the call, looked up in this shard: held here by another shard's update is a conflict.
      const holders = await holdersIn(redis, keys, traces);
      updates.forEach((u, i) => {
        const holder = holders.get(u.objectWriteTraceId);
        if (holder === undefined) return;
        known.add(u.objectWriteTraceId);
        if (shardOfAccount(u.account, shards.length) !== shard) heldElsewhere.set(i, holder);
      });
    }),
  );
  for (const [index, usedBy] of heldElsewhere) {
    duplicates.delete(index);
    conflicts.set(index, {
      index,
      objectWriteTraceId: (updates[index] as Update).objectWriteTraceId,
      usedBy,
    });
  }
  // Within the call, a trace id no shard holds yet, given to accounts of two shards: the later one conflicts.
  for (const c of crossShardConflicts(updates, parts)) {
    if (known.has(c.objectWriteTraceId) || conflicts.has(c.index)) continue;
    duplicates.delete(c.index);
    conflicts.set(c.index, c);
  }
  return {
    parts,
    conflicts: [...conflicts.values()].sort((a, b) => a.index - b.index),
    duplicates: [...duplicates].sort((a, b) => a - b),
    accepted,
  };
}
