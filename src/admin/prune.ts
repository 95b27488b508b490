import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { luaScript } from '../lua.js';
import { PAGE } from './dead-letters.js';

const pruneScript = luaScript('pruneFailed', new URL('./lua/prune.lua', import.meta.url), { keys: true });

/** What one pruning pass removed, and where the next pass resumes its check for missing records. */
export interface PruneResult {
  /** Entries older than the outcome TTL. */
  aged: number;
  /** Entries whose outcome record was gone before that. */
  gone: number;
  /** Where the next pass resumes checking for missing records: a rank among entries younger than the TTL. */
  cursor: number;
}

/** Options of one pruning pass. */
export interface PruneOptions {
  /** Entries older than this are removed: the outcome TTL the workers write with (`OUTCOME_TTL_SECONDS`). */
  outcomeTtlSeconds: number;
  /** Where to resume checking for missing records; default: where the last pass on this connection ended. */
  cursor?: number;
  /** Most entries removed by age in this pass (default 500). */
  maxAged?: number;
  /** Most entries checked for a missing record in this pass (default 100). */
  maxChecked?: number;
}

/**
 * One bounded pass over the dead-letter index: removes entries older than `outcomeTtlSeconds` (at most
 * `maxAged`) and, checking `maxChecked` entries from the cursor, those whose outcome record is gone; each comes
 * off `failed:<category>`. Passes that each start at the `cursor` the last one returned walk the whole index; the
 * cursor is only a hint (a rank that removals shift), so a caller keeps it in memory and a new process starts at 0. See lua/prune.lua.
 */
export async function pruneFailed(
  redis: Redis,
  keys: QueueKeys,
  options: PruneOptions,
): Promise<PruneResult> {
  const r = (await pruneScript.run(
    redis,
    [keys.failed, keys.stats],
    [
      ...keys.scriptArgs,
      options.outcomeTtlSeconds,
      options.maxAged ?? PAGE,
      options.cursor ?? 0,
      options.maxChecked ?? 100,
    ],
  )) as number[];
  return { aged: r[0] ?? 0, gone: r[1] ?? 0, cursor: r[2] ?? 0 };
}
