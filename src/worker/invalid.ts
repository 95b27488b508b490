import { memberField } from '../keys.js';
import type { RecordFacts } from '../outcomes/record.js';
import { type ShardPlace, shardOfAccount } from '../shards.js';
import {
  DEFAULT_ACCOUNT,
  describeIssues,
  fingerprintOfJobData,
  isWellFormed,
  NOT_WELL_FORMED,
  type UpdateLimits,
  updateSchema,
} from '../update.js';
import { traceIdOfJob } from './prepare.js';
import type { QueueStore } from './store.js';

const BATCH = 100;

function str(data: unknown, field: string): string {
  if (data && typeof data === 'object' && field in data) {
    const v = (data as Record<string, unknown>)[field];
    if (typeof v === 'string') return memberField(v);
  }
  return '';
}

/** ingest.lua's test of a name that becomes part of a key: non-empty, without `|`, `:` or Lua's `%s`. */
function luaName(v: unknown): boolean {
  return typeof v === 'string' && v !== '' && !/[|:\t\n\v\f\r ]/.test(v);
}

/**
 * Whether ingest.lua would have routed this data had Redis's Lua JSON decoder (cjson) read it: the same test it
 * applies. Data that passes it was set aside only because cjson could not decode what JavaScript can.
 */
function routableByIngest(d: unknown): boolean {
  if (!d || typeof d !== 'object' || Array.isArray(d)) return false;
  const o = d as Record<string, unknown>;
  return (
    luaName(o.objectType) &&
    typeof o.id === 'string' &&
    o.id !== '' &&
    (o.account === undefined || luaName(o.account)) &&
    (o.idProperty === undefined || luaName(o.idProperty)) &&
    (o.objectWriteTraceId === undefined || luaName(o.objectWriteTraceId))
  );
}

/** Paths of strings (keys or values) holding an unpaired surrogate, with the first one's escape. */
function unpairedSurrogates(value: unknown, path: string[] = [], out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (!isWellFormed(value)) out.push(`${path.join('.') || '(data)'} (${surrogateEscape(value)})`);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!isWellFormed(k)) out.push(`the name ${JSON.stringify(k)} in ${path.join('.') || '(data)'}`);
      unpairedSurrogates(v, [...path, k], out);
    }
  }
  return out;
}

function surrogateEscape(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const high = c >= 0xd800 && c <= 0xdbff;
    const low = c >= 0xdc00 && c <= 0xdfff;
    const next = text.charCodeAt(i + 1);
    if (high && next >= 0xdc00 && next <= 0xdfff) i++;
    else if (high || low) return `\\u${c.toString(16)}`;
  }
  return '';
}

/**
 * What is wrong with job data that ingestion could not route, in words a producer can act on. `shard` is the
 * shard whose ingest set it aside: a valid update of an account another shard holds was enqueued with another
 * `QUEUE_SHARDS`.
 */
export function describeUnroutable(
  data: string | null,
  limits?: Partial<UpdateLimits>,
  shard?: ShardPlace,
): string[] {
  if (data === null) return ['job has no data'];
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return ['job data is not valid JSON'];
  }
  const parsed = updateSchema(limits).safeParse(raw);
  const issues = parsed.success ? [] : describeIssues(parsed.error);
  if (shard && shard.count > 1 && routableByIngest(raw)) {
    const account = str(raw, 'account') || DEFAULT_ACCOUNT;
    const home = shardOfAccount(account, shard.count);
    if (home !== shard.index) {
      return [
        `account ${JSON.stringify(account)} is held by shard ${home} of the queue's ${shard.count}, but this job ` +
          `was enqueued to shard ${shard.index}: its producer uses another QUEUE_SHARDS (every producer, worker ` +
          'and admin command of a queue must use the same)',
        ...issues,
      ];
    }
  }
  if (routableByIngest(raw)) {
    const where = unpairedSurrogates(raw);
    const cause = where.length > 0 ? `: an unpaired surrogate in ${where.join(', ')}` : '';
    // The decoder's reason covers the schema's well-formedness issues; other issues are still named.
    return [
      `job data is valid JSON that Redis's Lua JSON decoder cannot read${cause}`,
      ...issues.filter((i) => !i.endsWith(NOT_WELL_FORMED)),
    ];
  }
  return issues.length > 0 ? issues : ['names an object that cannot be addressed'];
}

/**
 * Fails jobs whose data could not even be routed to an object (not JSON, missing objectType or id, data Redis's
 * Lua JSON decoder cannot read, ...), with a validation error naming every problem. They never block valid jobs:
 * ingestion set them aside.
 */
export async function failInvalidJobs(
  store: QueueStore,
  limits?: Partial<UpdateLimits>,
  shard?: ShardPlace,
): Promise<number> {
  let total = 0;
  for (;;) {
    const items = await store.peekInvalid(BATCH);
    if (items.length === 0) return total;
    const records = items.map(({ jobId, data }) => {
      let raw: unknown;
      try {
        raw = data === null ? undefined : JSON.parse(data);
      } catch {
        raw = undefined;
      }
      const issues = describeUnroutable(data, limits, shard);
      const trace = traceIdOfJob(jobId, raw);
      const idProperty = str(raw, 'idProperty');
      const facts: RecordFacts = {
        trace,
        account: str(raw, 'account') || DEFAULT_ACCOUNT,
        objectType: str(raw, 'objectType'),
        id: str(raw, 'id'),
        ...(idProperty ? { idProperty } : {}),
        attempts: 0,
        error: { category: 'VALIDATION_ERROR', message: `invalid update: ${issues.join('; ')}` },
        fp: fingerprintOfJobData(data, trace),
      };
      return { jobId, facts };
    });
    await store.failInvalid(records);
    total += records.length;
    if (items.length < BATCH) return total;
  }
}
