import type { FailedFilter } from '../admin/dead-letters.js';
import type { Config } from '../config.js';
import { withQueueAdmin } from './admin.js';
import { write } from './io.js';
import { integerFlag, parseCommandArgs, textFlag, UsageError } from './usage.js';

const FILTER_OPTIONS = {
  account: { type: 'string' },
  'object-type': { type: 'string' },
  category: { type: 'string' },
  limit: { type: 'string' },
} as const;

type FilterValues = { [K in keyof typeof FILTER_OPTIONS]?: string | undefined };

function filterOf(values: FilterValues): FailedFilter {
  const account = textFlag('account', values.account);
  const objectType = textFlag('object-type', values['object-type']);
  const category = textFlag('category', values.category);
  const limit = integerFlag('limit', values.limit, 1);
  return {
    ...(account !== undefined ? { account } : {}),
    ...(objectType !== undefined ? { objectType } : {}),
    ...(category !== undefined ? { category } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

/** `failed [--account A] [--object-type T] [--category C] [--limit N]`; throws {@link UsageError}. */
export function parseFailedArgs(args: string[]): FailedFilter {
  return filterOf(parseCommandArgs(args, FILTER_OPTIONS).values);
}

/** A replay as asked for on the command line. */
export interface RetryFailedRequest {
  filter: FailedFilter;
  dryRun: boolean;
}

/**
 * `retry-failed (--all | --account A | --object-type T | --category C ...) [--limit N] [--dry-run]`. Replaying
 * every failed update must be asked for with `--all`: without a filter or `--all` it throws {@link UsageError},
 * and so does `--all` with a filter.
 */
export function parseRetryFailedArgs(args: string[]): RetryFailedRequest {
  const { values } = parseCommandArgs(args, {
    ...FILTER_OPTIONS,
    all: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  });
  const filter = filterOf(values);
  const filtered =
    filter.account !== undefined || filter.objectType !== undefined || filter.category !== undefined;
  if (values.all && filtered) {
    throw new UsageError('--all replays every failed update; it cannot be combined with a filter');
  }
  if (!values.all && !filtered) {
    throw new UsageError(
      'name the failed updates to replay (--account, --object-type, --category), or --all for every one',
    );
  }
  return { filter, dryRun: values['dry-run'] === true };
}

/** Prints failed outcomes matching the filter as NDJSON, newest first. */
export async function runFailed(filter: FailedFilter, config: Config): Promise<number> {
  return withQueueAdmin(config, async (admin) => {
    for (const o of await admin.listFailed(filter)) await write(process.stdout, `${JSON.stringify(o)}\n`);
    return 0;
  });
}

/**
 * Replays matching failed updates and prints the trace ids put back (as NDJSON) and their count, which are
 * exactly what the replay script reports; with `dryRun`, those that would be put back, changing nothing.
 */
export async function runRetryFailed(request: RetryFailedRequest, config: Config): Promise<number> {
  return withQueueAdmin(config, async (admin) => {
    const ids = await admin.retryFailed(request.filter, { dryRun: request.dryRun });
    for (const id of ids) await write(process.stdout, `${JSON.stringify({ objectWriteTraceId: id })}\n`);
    process.stderr.write(
      request.dryRun
        ? `dry run: ${ids.length} failed update(s) would be put back in the queue; nothing changed\n`
        : `${ids.length} failed update(s) put back in the queue\n`,
    );
    return 0;
  });
}
