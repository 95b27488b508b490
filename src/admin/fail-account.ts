import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { luaScript } from '../lua.js';
import { failScriptArgs } from './fail-args.js';
import { failUnresolved } from './fail-unresolved.js';

const failAccountScript = luaScript('failAccount', new URL('./lua/fail-account.lua', import.meta.url), {
  keys: true,
  libs: ['finish.lua', 'job-data.lua'],
});

const failWaitScript = luaScript('failAccountWait', new URL('./lua/fail-account-wait.lua', import.meta.url), {
  keys: true,
  libs: ['finish.lua', 'job-data.lua'],
});

/** Jobs of the wait list one script call examines at most (one HMGET and one JSON decode each). */
export const WAIT_CHUNK = 1000;

/** What `fail-account` did: updates failed now, and updates in flight marked to fail at their settle. */
export interface FailAccountResult {
  /** Updates failed by this request (with `dryRun`: that would be). */
  failed: number;
  /** Updates in batches in flight: failed when their batch settles, unless their call succeeded. */
  inFlight: number;
}

/** Options of one fail-account request. */
export interface FailAccountOptions {
  /** The error message recorded in each outcome; default {@link defaultFailReason}. */
  reason?: string;
  /** Count what would fail and change nothing. */
  dryRun?: boolean;
  /**
   * Names the request so a script re-sent after a reconnect reports the first run's counts; one per call,
   * made up when absent.
   */
  requestId?: string;
  /** Jobs of the wait list one script call examines at most; default {@link WAIT_CHUNK}. */
  waitChunk?: number;
  /**
   * Updates waiting for their address to be resolved one script call fails at most; default
   * `UNRESOLVED_CHUNK` (fail-unresolved.ts).
   */
  unresolvedChunk?: number;
}

/** Options of one pass of {@link failWaiting}. */
export interface FailWaitingOptions {
  /** The error message recorded in each outcome. */
  message: string;
  outcomeTtlSeconds: number;
  dryRun?: boolean;
  /** Names the pass; each script call stores its result under `<requestId>:wait:<n>`. */
  requestId?: string;
  /** Jobs one script call examines at most; default {@link WAIT_CHUNK}. */
  chunk?: number;
  /** Which wait list: BullMQ's (default) or the interactive one this producer fills. */
  list?: 'wait' | 'interactiveWait';
}

/**
 * Fails the account's jobs still in a wait list (BullMQ's, or the interactive one; enqueued, not yet ingested by a worker) and takes them
 * off it, one bounded script call at a time (lua/fail-account-wait.lua), oldest first; yields how many each
 * call failed (with `dryRun`: would fail). Safe while workers ingest and producers enqueue: it ends once it has
 * examined as many jobs as the list held when it began, so jobs enqueued meanwhile may or may not be failed.
 */
export async function* failWaiting(
  redis: Redis,
  keys: QueueKeys,
  account: string,
  options: FailWaitingOptions,
): AsyncGenerator<number> {
  const requestId = options.requestId ?? randomUUID();
  const chunk = options.chunk ?? WAIT_CHUNK;
  const list = options.list ?? 'wait';
  let cursor = 0;
  let boundary = '';
  let examined = 0;
  let length: number | undefined;
  for (let call = 0; ; call++) {
    const r = (await failWaitScript.run(
      redis,
      [keys[list], keys.seq, keys.stats, keys.request(`${requestId}:${list}:${call}`)],
      [...failScriptArgs(keys, account, options), chunk, cursor, boundary],
    )) as [number, number, string, number, number, number];
    const [failed, nextCursor, nextBoundary, done, seen, lengthNow] = r;
    yield failed;
    length ??= lengthNow;
    examined += seen;
    // Every job the list held at the start was examined or popped by then; what came later was not asked for.
    if (done === 1 || examined >= length) return;
    cursor = nextCursor;
    boundary = nextBoundary;
  }
}

/** The message of an operator's fail-account when none is given. */
export function defaultFailReason(account: string): string {
  return `failed by an operator: account "${account}" is not usable`;
}

/**
 * Fails every update of an account that waits to be sent (still in BullMQ's wait list, waiting for its address to
 * be resolved, pending, held, behind an object in flight, or in backoff), as an operator decision, e.g. after its
 * credentials were revoked for good (a 401 only pauses it), and marks the account's batches in flight: their
 * settle fails what it would have handed back or retried (what their call settled stays). Failed updates keep
 * their jobs, so `retryFailed` brings them back. Outcomes are written to live `outcomeTtlSeconds`. See
 * lua/fail-account.lua, lua/fail-account-wait.lua and lua/fail-account-unresolved.lua.
 */
export async function failAccount(
  redis: Redis,
  keys: QueueKeys,
  account: string,
  options: FailAccountOptions & { outcomeTtlSeconds: number },
): Promise<FailAccountResult> {
  const requestId = options.requestId ?? randomUUID();
  const reason = options.reason ?? defaultFailReason(account);
  // The wait lists first: what ingest moves meanwhile is failed by the script below, like any waiting update.
  let waiting = 0;
  for (const list of ['interactiveWait', 'wait'] as const) {
    const scan = failWaiting(redis, keys, account, {
      message: reason,
      outcomeTtlSeconds: options.outcomeTtlSeconds,
      requestId,
      list,
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.waitChunk !== undefined ? { chunk: options.waitChunk } : {}),
    });
    for await (const failed of scan) waiting += failed;
  }
  // Then the unresolved lists, before the script below: what resolution moves meanwhile to a record's list is
  // failed there. Updates of a batch settled in between that go back to their address (a refuted mapping) are
  // failed by the second pass: once the script marked the batches in flight, none can go back.
  const unresolvedPass = async (pass: string) => {
    let n = 0;
    const scan = failUnresolved(redis, keys, account, {
      message: reason,
      outcomeTtlSeconds: options.outcomeTtlSeconds,
      requestId: `${requestId}:unres:${pass}`,
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.unresolvedChunk !== undefined ? { chunk: options.unresolvedChunk } : {}),
    });
    for await (const failed of scan) n += failed;
    return n;
  };
  const unresolved = await unresolvedPass('a');
  const r = (await failAccountScript.run(
    redis,
    [keys.groups, keys.delayed, keys.stats, keys.failed, keys.request(requestId), keys.leases],
    failScriptArgs(keys, account, {
      outcomeTtlSeconds: options.outcomeTtlSeconds,
      message: reason,
      ...(options.dryRun ? { dryRun: true } : {}),
    }),
  )) as number[];
  // A dry run changed nothing: a second pass would count the same updates again.
  const late = options.dryRun ? 0 : await unresolvedPass('b');
  return { failed: waiting + unresolved + late + (r[0] ?? 0) + (r[1] ?? 0), inFlight: r[2] ?? 0 };
}
