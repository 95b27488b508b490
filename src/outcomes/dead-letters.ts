import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { luaScript } from '../lua.js';
import type { Outcome } from './outcome.js';
import { parseOutcomeRecord } from './record.js';

const replayScript = luaScript('replay', new URL('./lua/replay.lua', import.meta.url));
const PAGE = 500;

/** Filters for listing and replaying failed updates; every given field must match. */
export interface FailedFilter {
  account?: string;
  objectType?: string;
  category?: string;
  /** At most this many (default: all). */
  limit?: number;
}

function matches(o: Outcome, f: FailedFilter): boolean {
  return (
    o.status === 'failed' &&
    (!f.account || o.account === f.account) &&
    (!f.objectType || o.objectType === f.objectType) &&
    (!f.category || o.error?.category === f.category)
  );
}

/**
 * Walks the dead-letter index newest first and yields failed outcomes matching the filter, with their index
 * member (needed to replay). Entries whose outcome expired are dropped from the index on the way.
 */
export async function* scanFailed(
  redis: Redis,
  keys: QueueKeys,
  filter: FailedFilter = {},
): AsyncGenerator<{ member: string; outcome: Outcome }> {
  let yielded = 0;
  const limit = filter.limit ?? Number.POSITIVE_INFINITY;
  for (let start = 0; yielded < limit; start += PAGE) {
    const members = await redis.zrevrange(keys.failed, start, start + PAGE - 1);
    if (members.length === 0) return;
    const traces = members.map((m) => m.slice(m.lastIndexOf('|') + 1));
    const records = await redis.mget(...traces.map((t) => keys.outcome(t)));
    const expired: string[] = [];
    for (let i = 0; i < members.length && yielded < limit; i++) {
      const record = records[i];
      if (!record) {
        expired.push(members[i] as string);
        continue;
      }
      const outcome = parseOutcomeRecord(record);
      if (!matches(outcome, filter)) continue;
      yielded++;
      yield { member: members[i] as string, outcome };
    }
    if (expired.length > 0) {
      await redis.zrem(keys.failed, ...expired);
      start -= expired.length;
    }
  }
}

/** Failed outcomes matching the filter, newest first. */
export async function listFailed(
  redis: Redis,
  keys: QueueKeys,
  filter: FailedFilter = {},
): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for await (const { outcome } of scanFailed(redis, keys, filter)) out.push(outcome);
  return out;
}

/**
 * Puts failed updates matching the filter back in the queue with their original sequence numbers (so the
 * replay cannot overwrite a newer value). Returns the trace ids replayed. Unroutable jobs cannot be replayed.
 */
export async function retryFailed(
  redis: Redis,
  keys: QueueKeys,
  filter: FailedFilter = {},
): Promise<string[]> {
  const members: string[] = [];
  for await (const { member } of scanFailed(redis, keys, filter)) members.push(member);
  const replayed: string[] = [];
  for (let i = 0; i < members.length; i += PAGE) {
    const chunk = members.slice(i, i + PAGE);
    const n = (await replayScript.run(
      redis,
      [keys.wait, keys.marker, keys.failed, keys.stats],
      [keys.jobPrefix, keys.outcomePrefix, ...chunk],
    )) as number;
    if (n > 0) replayed.push(...chunk.map((m) => m.slice(m.lastIndexOf('|') + 1)));
  }
  return replayed;
}
