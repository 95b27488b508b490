import { ObliterateRefusal, ObliterateRefusedError } from '../admin/obliterate.js';
import type { Config } from '../config.js';
import { withQueueAdmin } from './admin.js';
import { parseCommandArgs, UsageError } from './usage.js';

/** An `obliterate` request as given on the command line. */
export interface ObliterateRequest {
  force: boolean;
  dryRun: boolean;
}

/**
 * `obliterate (--yes | --dry-run) [--force]`. Deleting a queue must be confirmed with `--yes`; without it (and
 * without `--dry-run`, which changes nothing) it throws {@link UsageError}, and so does `--yes` with
 * `--dry-run`.
 */
export function parseObliterateArgs(args: string[]): ObliterateRequest {
  const { values } = parseCommandArgs(args, {
    yes: { type: 'boolean' },
    force: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  });
  const dryRun = values['dry-run'] === true;
  if (dryRun && values.yes)
    throw new UsageError('--dry-run deletes nothing; it cannot be combined with --yes');
  if (!dryRun && !values.yes) {
    throw new UsageError(
      'obliterate deletes every key of the queue (updates, outcomes, dead letters, budgets): confirm with --yes',
    );
  }
  return { force: values.force === true, dryRun };
}

/**
 * Deletes every key of the configured queue and prints `{"queue", "deleted"}` (with `--dry-run`,
 * `{"queue", "dryRun": true, "wouldDelete"}`). While workers of the queue are alive it refuses, naming them,
 * and exits 1, unless `--force`.
 */
export async function runObliterate(request: ObliterateRequest, config: Config): Promise<number> {
  return withQueueAdmin(config, async (admin) => {
    try {
      const r = await admin.obliterate(request);
      const live = r.liveWorkers.length > 0 ? { liveWorkers: r.liveWorkers } : {};
      const report = request.dryRun
        ? { queue: admin.queueName, dryRun: true, wouldDelete: r.keys, ...live }
        : { queue: admin.queueName, deleted: r.keys, ...live };
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof ObliterateRefusedError)) throw err;
      const hint = err.reason === ObliterateRefusal.liveWorkers ? '; --force deletes anyway' : '';
      process.stderr.write(`obliterate refused, nothing deleted: ${err.message}${hint}\n`);
      return 1;
    }
  });
}
