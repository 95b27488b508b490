/**
 * Queue shards: one queue spread over several hash tags, so a Redis Cluster can hold it on several masters.
 *
 * A queue of `n` shards is `n` queues of the same layout (see keys.ts), each with its own hash tag and so its own
 * cluster slot. An account lives in exactly one shard, picked from its name: its updates, objects, fences,
 * budget, pauses and outcomes all sit in that shard's slot, so every Lua script still touches one slot, and
 * per-account ordering, fencing and budgets hold as in a queue of one shard. Workers serve every shard;
 * producers and admin tools route by account, and read an update's outcome from the shard that holds it.
 *
 * Shard 0 keeps the queue's own name, so a queue of one shard is exactly the queue it was before shards. The
 * other shards' names are picked so that their slots spread evenly over the slot space: shard slots lie in
 * distinct `1/n` ranges of the 16,384 slots, so on a cluster whose masters own equal contiguous slot ranges (what
 * `redis-cli --cluster create` makes) and `n` a multiple of the masters, each master holds `n / masters` shards.
 */

import type { Redis } from 'ioredis';
import { luaScript } from './lua.js';

const claimScript = luaScript('claimShardCount', new URL('./lua/claim-shard-count.lua', import.meta.url));

/** One shard of a queue: which one, of how many. */
export interface ShardPlace {
  readonly index: number;
  readonly count: number;
}

/** A shard's place as the queue's `shard-place` key holds it: `index/count`. */
export function placeOf(place: ShardPlace): string {
  return `${place.index}/${place.count}`;
}

/** The only shard of a queue of one shard. */
export const ONLY_SHARD: ShardPlace = { index: 0, count: 1 };

/** Most shards a queue may have. */
export const MAX_QUEUE_SHARDS = 256;

/** Slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;

/** Separates a queue's name from a shard's suffix; `QUEUE_NAME` may not contain it, so no queue's name is a shard's. */
export const SHARD_SEPARATOR = '~';

/** CRC16/XMODEM, Redis Cluster's key hash. */
function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * The cluster slot of a key, as Redis computes it: the hash of the text between the first `{` and the next `}`
 * when that is not empty, else of the whole key.
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(key.slice(open + 1, close)) % CLUSTER_SLOTS;
  }
  return crc16(key) % CLUSTER_SLOTS;
}

const namesCache = new Map<string, readonly string[]>();

/**
 * The queue names of a queue's shards, shard 0 first (the queue's own name). Throws a RangeError for a count
 * outside 1..{@link MAX_QUEUE_SHARDS}.
 */
export function shardQueueNames(queueName: string, shards: number): readonly string[] {
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_QUEUE_SHARDS) {
    throw new RangeError(`shards must be an integer from 1 to ${MAX_QUEUE_SHARDS}, got ${shards}`);
  }
  // A name like a shard's (`<name>~<j>`) could be another queue's shard: the two would share keys.
  if (new RegExp(`${SHARD_SEPARATOR}\\d+$`).test(queueName)) {
    throw new RangeError(
      `queue name ${JSON.stringify(queueName)} may not end in "${SHARD_SEPARATOR}" and digits: that names a shard of another queue`,
    );
  }
  const cacheKey = `${shards}${SHARD_SEPARATOR}${queueName}`;
  const cached = namesCache.get(cacheKey);
  if (cached) return cached;
  const rangeOf = (name: string) => Math.floor((keySlot(`{${name}}`) * shards) / CLUSTER_SLOTS);
  const names = [queueName];
  const taken = new Set([rangeOf(queueName)]);
  // Each further shard takes the first suffix whose slot falls in a range no shard holds yet.
  for (let k = 1; names.length < shards; k++) {
    const name = `${queueName}${SHARD_SEPARATOR}${k}`;
    const range = rangeOf(name);
    if (taken.has(range)) continue;
    taken.add(range);
    names.push(name);
  }
  namesCache.set(cacheKey, names);
  return names;
}

/** The shard (0..shards-1) that holds an account: FNV-1a of its name, so every process agrees without Redis. */
export function shardOfAccount(account: string, shards: number): number {
  if (shards <= 1) return 0;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(account, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** Indexes of `items` by shard (`shardOf` picks one), each list in the items' order. */
export function partitionByShard<T>(items: readonly T[], shardOf: (item: T) => number): number[][] {
  const parts: number[][] = [];
  items.forEach((item, i) => {
    const shard = shardOf(item);
    while (parts.length <= shard) parts.push([]);
    (parts[shard] as number[]).push(i);
  });
  return parts;
}

/** A process of the queue was started with another shard count than the queue's. */
export class ShardCountMismatchError extends Error {
  readonly code = 'SHARD_COUNT_MISMATCH';
  constructor(
    readonly queueName: string,
    readonly configured: number,
    readonly recorded: number,
  ) {
    super(
      `queue "${queueName}" has ${recorded} shard(s) but this process was given QUEUE_SHARDS=${configured}: every ` +
        'producer, worker and admin command of a queue must use the same count (to change it, move to a new ' +
        'queue: see "More than one Redis" in the README)',
    );
    this.name = 'ShardCountMismatchError';
  }
}

/**
 * A check of the queue's shard count run once, on first use (see {@link claimShardCount}): a mismatch keeps being
 * refused, a transient failure (Redis unreachable) is tried again on the next use. A `readOnly` check that finds
 * no count recorded is made again on the next use too: a process that records one (a worker, a producer's first
 * enqueue) may come after it, and a long-lived reader (the dashboard, a producer that only reads) must then see it.
 */
export function shardCountGuard(
  redis: Redis,
  shardCountKey: string,
  queueName: string,
  shards: number,
  options: { readOnly?: boolean } = {},
): () => Promise<void> {
  let checked: Promise<void> | undefined;
  return () => {
    checked ??= claimShardCount(redis, shardCountKey, queueName, shards, options).then(
      (recorded) => {
        if (recorded === null && options.readOnly) checked = undefined;
      },
      (err: unknown) => {
        if (!(err instanceof ShardCountMismatchError)) checked = undefined;
        throw err;
      },
    );
    return checked;
  };
}

/**
 * Records the queue's shard count in shard 0 (`shardCountKey`) if none is recorded yet, and throws
 * {@link ShardCountMismatchError} when another count is; resolves with the count recorded before (null: none was).
 * One script call, safe to send twice. `readOnly` only compares (readers and admin tools record nothing).
 */
export async function claimShardCount(
  redis: Redis,
  shardCountKey: string,
  queueName: string,
  shards: number,
  options: { readOnly?: boolean } = {},
): Promise<number | null> {
  const recorded = (await claimScript.run(
    redis,
    [shardCountKey],
    [String(shards), options.readOnly ? '1' : '0'],
  )) as string | null;
  if (recorded !== null && Number(recorded) !== shards) {
    throw new ShardCountMismatchError(queueName, shards, Number(recorded));
  }
  return recorded === null ? null : Number(recorded);
}
