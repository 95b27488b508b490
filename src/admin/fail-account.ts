import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { luaScript } from '../lua.js';
import { REQUEST_RESULT_TTL_SECONDS } from './dead-letters.js';

const failAccountScript = luaScript('failAccount', new URL('./lua/fail-account.lua', import.meta.url), {
  keys: true,
  libs: ['finish.lua'],
});

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
}

/** The message of an operator's fail-account when none is given. */
export function defaultFailReason(account: string): string {
  return `failed by an operator: account "${account}" is not usable`;
}

/**
 * Fails every update of an account that waits to be sent (pending, held, behind an object in flight, or in
 * backoff), as an operator decision, e.g. after its credentials were revoked for good (a 401 only pauses it),
 * and marks the account's batches in flight: their settle fails what it would have handed back or retried (what
 * their call settled stays). Failed updates keep their jobs, so `retryFailed` brings them back. Outcomes are
 * written to live `outcomeTtlSeconds`. See lua/fail-account.lua.
 */
export async function failAccount(
  redis: Redis,
  keys: QueueKeys,
  account: string,
  options: FailAccountOptions & { outcomeTtlSeconds: number },
): Promise<FailAccountResult> {
  const r = (await failAccountScript.run(
    redis,
    [
      keys.groups,
      keys.delayed,
      keys.stats,
      keys.failed,
      keys.request(options.requestId ?? randomUUID()),
      keys.leases,
    ],
    [
      ...keys.scriptArgs,
      account,
      options.outcomeTtlSeconds,
      options.reason ?? defaultFailReason(account),
      options.dryRun ? '1' : '0',
      REQUEST_RESULT_TTL_SECONDS,
    ],
  )) as number[];
  return { failed: (r[0] ?? 0) + (r[1] ?? 0), inFlight: r[2] ?? 0 };
}
