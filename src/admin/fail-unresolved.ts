import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { groupOf, type QueueKeys } from '../keys.js';
import { luaScript } from '../lua.js';
import { REQUEST_RESULT_TTL_SECONDS } from './dead-letters.js';
import { failScriptArgs } from './fail-args.js';

const failUnresolvedScript = luaScript(
  'failAccountUnresolved',
  new URL('./lua/fail-account-unresolved.lua', import.meta.url),
  { keys: true, libs: ['finish.lua', 'job-data.lua'] },
);

/**
 * Updates waiting for their address one script call fails at most (one HGET and one JSON decode each); in a dry
 * run, the addresses one call counts.
 */
export const UNRESOLVED_CHUNK = 1000;

/** Options of one pass of {@link failUnresolved}. */
export interface FailUnresolvedOptions {
  /** The error message recorded in each outcome. */
  message: string;
  outcomeTtlSeconds: number;
  dryRun?: boolean;
  /**
   * Names the pass; each script call stores its result under `<requestId>:<group>:<n>`, so two passes of one
   * request need two names.
   */
  requestId?: string;
  /** Updates one script call fails at most; default {@link UNRESOLVED_CHUNK}. */
  chunk?: number;
}

/**
 * Fails the account's updates that wait for their address (a unique property's value, `idProperty`) to be
 * resolved to a record, and takes them off their lists, one bounded script call at a time per group of the
 * account (lua/fail-account-unresolved.lua), oldest address first; yields how many each call failed (with
 * `dryRun`: would fail). Safe while workers resolve and ingest: a group's pass ends once it has finished as many
 * addresses as the group waited on when it began (or none is left), so addresses added meanwhile may or may not
 * be failed. The groups are the account's in the groups set, which lists every group with addresses waiting
 * (ingest, settle and resolve add them; ready.lua and fail-account.lua drop only groups with none).
 */
export async function* failUnresolved(
  redis: Redis,
  keys: QueueKeys,
  account: string,
  options: FailUnresolvedOptions,
): AsyncGenerator<number> {
  const requestId = options.requestId ?? randomUUID();
  const chunk = options.chunk ?? UNRESOLVED_CHUNK;
  const groups = await accountGroups(redis, keys, account, requestId, options.dryRun === true);
  for (const group of groups) {
    let finished = 0;
    let card: number | undefined;
    for (let call = 0; ; call++) {
      const r = (await failUnresolvedScript.run(
        redis,
        [keys.unresolvedAddresses(group), keys.stats, keys.request(`${requestId}:${group}:${call}`)],
        [...failScriptArgs(keys, account, options), chunk, finished],
      )) as [number, number, number, number];
      const [failed, done, finishedNow, cardNow] = r;
      yield failed;
      card ??= cardNow;
      finished += finishedNow;
      if (done === 1 || finished >= card) break;
    }
  }
}

/**
 * The account's groups in the groups set, sorted. A request keeps the list it found first (under
 * `<requestId>:groups`), so a request made again goes through the same groups and its calls report the first
 * run's results, although the groups the first run emptied have left the set.
 */
async function accountGroups(
  redis: Redis,
  keys: QueueKeys,
  account: string,
  requestId: string,
  dryRun: boolean,
): Promise<string[]> {
  const prefix = groupOf(account, '');
  const groups = (await redis.smembers(keys.groups)).filter((g) => g.startsWith(prefix)).sort();
  if (dryRun) return groups;
  const found = JSON.stringify(groups);
  const first = await redis.set(
    keys.request(`${requestId}:groups`),
    found,
    'EX',
    REQUEST_RESULT_TTL_SECONDS,
    'NX',
    'GET',
  );
  return first === null ? groups : (JSON.parse(first) as string[]);
}
