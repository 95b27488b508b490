import { defaultFailReason } from '../admin/fail-account.js';
import type { Config } from '../config.js';
import { withQueueAdmin } from './admin.js';
import { parseCommandArgs, requiredFlag, textFlag } from './usage.js';

/** A `fail-account` request as given on the command line. */
export interface FailAccountRequest {
  account: string;
  reason: string;
  dryRun: boolean;
}

/** `fail-account --account A [--reason TEXT] [--dry-run]`; throws {@link UsageError} (no account, bad flags). */
export function parseFailAccountArgs(args: string[]): FailAccountRequest {
  const { values } = parseCommandArgs(args, {
    account: { type: 'string' },
    reason: { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  const account = requiredFlag('account', values.account);
  return {
    account,
    reason: textFlag('reason', values.reason) ?? defaultFailReason(account),
    dryRun: values['dry-run'] === true,
  };
}

/**
 * An operator fails every update of an account that waits to be sent, typically after its credentials were
 * revoked for good (a 401 only pauses the account), and marks its batches in flight to fail what they would hand
 * back. Prints how many updates the script failed (and `inFlight`, how many it marked, when any), or with
 * `dryRun` how many it would. The updates can be replayed later with `retry-failed --account A`.
 */
export async function runFailAccount(request: FailAccountRequest, config: Config): Promise<number> {
  return withQueueAdmin(config, async (admin) => {
    const r = await admin.failAccount(request.account, { reason: request.reason, dryRun: request.dryRun });
    // Updates of batches in flight fail when their batch settles (unless their call succeeded).
    const inFlight = r.inFlight > 0 ? { inFlight: r.inFlight } : {};
    const report = request.dryRun
      ? { account: request.account, dryRun: true, wouldFail: r.failed, ...inFlight }
      : { account: request.account, failed: r.failed, ...inFlight };
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  });
}

/** `resume-account --account A`; throws {@link UsageError}. */
export function parseResumeAccountArgs(args: string[]): { account: string } {
  const { values } = parseCommandArgs(args, { account: { type: 'string' } });
  return { account: requiredFlag('account', values.account) };
}

/** Lifts an account's pause (e.g. once its credentials work again) on every replica. */
export async function runResumeAccount(request: { account: string }, config: Config): Promise<number> {
  return withQueueAdmin(config, async (admin) => {
    await admin.resumeAccount(request.account);
    process.stdout.write(`${JSON.stringify({ account: request.account, resumed: true })}\n`);
    return 0;
  });
}
