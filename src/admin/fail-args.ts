import type { QueueKeys } from '../keys.js';
import { REQUEST_RESULT_TTL_SECONDS } from './dead-letters.js';

/** What every fail-account script is told first: whose updates, with which outcome, and whether for real. */
export interface FailArgs {
  outcomeTtlSeconds: number;
  message: string;
  dryRun?: boolean;
}

/**
 * The arguments the fail-account scripts share, after the keys prelude's: account, outcome TTL, the operator's
 * message, dry run, and how long a request's result is kept for a re-sent call.
 */
export function failScriptArgs(keys: QueueKeys, account: string, options: FailArgs): Array<string | number> {
  return [
    ...keys.scriptArgs,
    account,
    options.outcomeTtlSeconds,
    options.message,
    options.dryRun ? '1' : '0',
    REQUEST_RESULT_TTL_SECONDS,
  ];
}
