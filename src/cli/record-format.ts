import type { Config } from '../config.js';
import { isRecordFormat, type OutcomeRecordFormat } from '../outcomes/record.js';
import { withQueueAdmin } from './admin.js';
import { parseCommandArgs, UsageError } from './usage.js';

/** `record-format [compact|object]`: the format to set, or none to print the current one. */
export function parseRecordFormatArgs(args: string[]): { set?: OutcomeRecordFormat } {
  const { positionals } = parseCommandArgs(args, {}, 1);
  const [value] = positionals;
  if (value === undefined) return {};
  if (!isRecordFormat(value)) throw new UsageError(`expects "compact" or "object", got "${value}"`);
  return { set: value };
}

/**
 * Prints how outcome records are written (`{"recordFormat":"compact"}`), after setting it on every shard when
 * asked: `object` while producers of a version before compact records still use the queue. Shards that differ
 * (a change cut half-way) print as `mixed` with each shard's format, and exit 1: run it again.
 */
export async function runRecordFormat(
  request: { set?: OutcomeRecordFormat },
  config: Config,
): Promise<number> {
  return withQueueAdmin(config, async (admin) => {
    if (request.set !== undefined) await admin.setRecordFormat(request.set);
    const shards = await admin.recordFormats();
    const first = shards[0] ?? 'compact';
    const mixed = shards.some((f) => f !== first);
    process.stdout.write(
      `${JSON.stringify(mixed ? { recordFormat: 'mixed', shards } : { recordFormat: first })}\n`,
    );
    return mixed ? 1 : 0;
  });
}
