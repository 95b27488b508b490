import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { memberField, parseFailedMember } from '../keys.js';
import { luaScript } from '../lua.js';
import type { Outcome } from '../outcomes/outcome.js';
import { parseOutcomeRecord } from '../outcomes/record.js';

const replayScript = luaScript('replay', new URL('./lua/replay.lua', import.meta.url), { keys: true });
/** Index entries read, and members replayed, per round trip. */
export const PAGE = 500;
/**
 * How long an operator request's result (a replay, a fail-account) is kept for a re-sent script: far longer
 * than a reconnect takes.
 */
export const REQUEST_RESULT_TTL_SECONDS = 300;

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
 * member (needed to replay). Entries whose outcome is gone are skipped; pruning (`pruneFailed`) removes them
 * and takes them off the failure counters.
 */
export async function* scanFailed(
  redis: Redis,
  keys: QueueKeys,
  filter: FailedFilter = {},
): AsyncGenerator<{ member: string; outcome: Outcome }> {
  let yielded = 0;
  const limit = filter.limit ?? Number.POSITIVE_INFINITY;
  const category = filter.category === undefined ? undefined : memberField(filter.category);
  for (let start = 0; yielded < limit; start += PAGE) {
    const members = await redis.zrevrange(keys.failed, start, start + PAGE - 1);
    if (members.length === 0) return;
    const parsed = members.map((m) => parseFailedMember(m));
    const records = await redis.mget(...parsed.map((p) => keys.outcome(p?.traceId ?? '')));
    for (let i = 0; i < members.length && yielded < limit; i++) {
      const record = records[i];
      const entry = parsed[i];
      if (!record || !entry) continue;
      // The member's category is the one the counters use; it saves decoding records that cannot match.
      if (category && entry.category !== undefined && entry.category !== category) continue;
      const outcome = parseOutcomeRecord(record, entry.traceId);
      if (!matches(outcome, filter)) continue;
      yielded++;
      yield { member: members[i] as string, outcome };
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

/** Options of one replay. */
export interface ReplayOptions {
  /** Report what would be replayed and change nothing. */
  dryRun?: boolean;
  /**
   * Identifies this replay so a script sent again after a reconnect reports the first run's result; one id
   * per call, made up when absent. A chunk's id is `<requestId>:<n>`.
   */
  requestId?: string;
}

/**
 * Puts the given index members back in the queue with their original sequence numbers (so the replay cannot
 * overwrite a newer value), in chunks. Returns the trace ids actually replayed: a member no longer in the index
 * or whose job is gone (unroutable updates keep none) is left out.
 */
export async function replayMembers(
  redis: Redis,
  keys: QueueKeys,
  members: readonly string[],
  options: ReplayOptions = {},
): Promise<string[]> {
  const requestId = options.requestId ?? randomUUID();
  const replayed: string[] = [];
  for (let i = 0; i < members.length; i += PAGE) {
    const chunk = members.slice(i, i + PAGE);
    const ids = (await replayScript.run(
      redis,
      [keys.wait, keys.marker, keys.failed, keys.stats, keys.request(`${requestId}:${i / PAGE}`)],
      [...keys.scriptArgs, options.dryRun ? '1' : '0', REQUEST_RESULT_TTL_SECONDS, ...chunk],
    )) as string[];
    replayed.push(...ids);
  }
  return replayed;
}

/**
 * Puts failed updates matching the filter back in the queue (see {@link replayMembers}). Returns the trace ids
 * replayed, or with `dryRun` those that would be. Unroutable jobs cannot be replayed.
 */
export async function retryFailed(
  redis: Redis,
  keys: QueueKeys,
  filter: FailedFilter = {},
  options: ReplayOptions = {},
): Promise<string[]> {
  const members: string[] = [];
  for await (const { member } of scanFailed(redis, keys, filter)) members.push(member);
  return replayMembers(redis, keys, members, options);
}
