/**
 * Every Redis key the queue owns, built and parsed in one place, and the compound values stored under them.
 *
 * All keys of a queue share the hash tag `{QUEUE_NAME}`, so a queue lives in one Redis Cluster slot (our Lua
 * scripts touch many keys at once) and two queues never interfere. BullMQ's own keys use the prefix
 * `hbq:{QUEUE_NAME}`, so BullMQ clients in other languages enqueue with `prefix = "hbq:{QUEUE_NAME}"`.
 *
 * Lua scripts build the same keys through the prelude `LUA_KEYS` (lua-prelude.ts), generated from the same table: a
 * script gets the queue's key root and job prefix as `ARGV[1]` and `ARGV[2]` and never spells a key itself.
 */
import { foldEmailCase } from './email-case.js';
import { KEY_TABLE, type KeyDoc, type KeyName } from './key-table.js';

export { KEY_TABLE, type KeyDoc } from './key-table.js';

/** Separates the parts of group and object keys; names that become part of a key may not contain it. */
export const KEY_SEPARATOR = '|';

/**
 * The BullMQ job name our producer gives the jobs it validated: the worker trusts their data and does not
 * validate it again. Jobs other clients add (any other name) are validated by the worker.
 */
export const CHECKED_JOB_NAME = 'hbq:update';

/**
 * The field of an object's fence (`landed:`) holding the due time of its latest retry in backoff (settle.lua): no
 * property name starts with `#`, so it never reads as one.
 */
export const RETRY_DUE_FIELD = '#retry';

/**
 * How many batch ids an update's history (`hist` in its job and outcome record) keeps, its latest: bounds the
 * story of an update handed back many times.
 */
export const HISTORY_LIMIT = 16;

/** The stats hash counts failed updates held for replay per category in fields `failed:<category>`. */
export const FAILED_STAT_PREFIX = 'failed:';

/** The stats field counting failed updates of `category`. */
export function failedStat(category: string): string {
  return FAILED_STAT_PREFIX + category;
}

/** The category a stats field counts, or undefined for any other field. */
export function categoryOfFailedStat(field: string): string | undefined {
  return field.startsWith(FAILED_STAT_PREFIX) ? field.slice(FAILED_STAT_PREFIX.length) : undefined;
}

/** Rate limiter keys of one account. */
export interface RateKeys {
  /** Zset log of granted calls (member grant id, score time ms). */
  readonly log: string;
  /** Hash: pause state, HubSpot's reported budget, external usage estimate. */
  readonly state: string;
}

type Fixed = { readonly [N in KeyName as (typeof KEY_TABLE)[N]['arg'] extends '' ? N : never]: string };
type Built = {
  readonly [N in KeyName as (typeof KEY_TABLE)[N]['arg'] extends '' ? never : N]: (part: string) => string;
};

/** The keys of one queue. See {@link KEY_TABLE} for what each holds, who writes it and how long it lives. */
export type QueueKeys = Fixed &
  Built & {
    /** BullMQ `prefix` option for this queue. */
    readonly bullPrefix: string;
    /** The BullMQ queue name. */
    readonly queueName: string;
    /** Root shared by every key of this queue, e.g. `hbq:{hubspot-updates}:`. */
    readonly root: string;
    /** BullMQ's job hash prefix: `<bullPrefix>:<queueName>:` + job id. */
    readonly jobPrefix: string;
    /** Rate limiter keys of one account. */
    rate(account: string): RateKeys;
    /** Lock and cache for a shared OAuth token of one account. */
    token(account: string): { lock: string; value: string };
    /** The two arguments every queue script takes first: the key root and the job prefix (see {@link LUA_KEYS}). */
    readonly scriptArgs: readonly [string, string];
  };

/** Builds the key set of one queue. */
export function queueKeys(queueName: string): QueueKeys {
  const tag = `{${queueName}}`;
  const bullPrefix = `hbq:${tag}`;
  const root = `${bullPrefix}:`;
  const jobPrefix = `${bullPrefix}:${queueName}:`;
  const keys: Record<string, unknown> = {
    bullPrefix,
    queueName,
    root,
    jobPrefix,
    scriptArgs: [root, jobPrefix] as const,
  };
  for (const [name, doc] of Object.entries(KEY_TABLE) as Array<[string, KeyDoc]>) {
    const base = doc.bull ? `${jobPrefix}${doc.suffix}` : `${root}${doc.suffix}`;
    const tail = doc.tail ?? '';
    keys[name] = doc.arg === '' ? base : (part: string) => `${base}${part}${tail}`;
  }
  const built = keys as Omit<QueueKeys, 'rate' | 'token'>;
  return {
    ...built,
    rate: (account) => ({ log: built.rateLog(account), state: built.rateState(account) }),
    token: (account) => ({ lock: built.tokenLock(account), value: built.tokenValue(account) }),
  };
}

/**
 * What a key of the queue is, by name in {@link KEY_TABLE} (`'job'` for a BullMQ job hash, `'rate'`/`'token'`
 * for per-account limiter and token keys), or undefined for a key the queue does not own.
 */
export function kindOfKey(keys: QueueKeys, key: string): KeyName | undefined {
  let best: { name: KeyName; length: number } | undefined;
  for (const [name, doc] of Object.entries(KEY_TABLE) as Array<[KeyName, KeyDoc]>) {
    const base = doc.bull ? `${keys.jobPrefix}${doc.suffix}` : `${keys.root}${doc.suffix}`;
    const tail = doc.tail ?? '';
    const matches =
      doc.arg === ''
        ? key === base
        : key.startsWith(base) && key.endsWith(tail) && key.length > base.length + tail.length;
    // A job id may look like any other BullMQ key's suffix: the longest match wins, the job prefix last.
    const length = base.length + tail.length;
    if (matches && (!best || length > best.length)) best = { name, length };
  }
  return best?.name;
}

/** The group an update is batched in: one HubSpot endpoint of one account. */
export function groupOf(account: string, objectType: string): string {
  return `${account}${KEY_SEPARATOR}${objectType}`;
}

/** The parts of a group name built by {@link groupOf}. */
export function parseGroup(group: string): { account: string; objectType: string } {
  const at = group.indexOf(KEY_SEPARATOR);
  return at < 0
    ? { account: group, objectType: '' }
    : { account: group.slice(0, at), objectType: group.slice(at + 1) };
}

/**
 * The identity of one HubSpot object as addressed by updates. `id` comes last and the other parts may not
 * contain `|` (validated), so the key is unambiguous.
 */
export function objectKeyOf(
  account: string,
  objectType: string,
  idProperty: string | undefined,
  id: string,
): string {
  return [account, objectType, idProperty ?? '', id].join(KEY_SEPARATOR);
}

/**
 * How a unique property's value is compared: HubSpot finds emails whatever their case, in any script, so they are
 * lower-cased code point by code point (email-case.ts; Lua's `K.addressKey` folds the same way). Other values are
 * taken as they are.
 */
export function normalizeAddress(idProperty: string, value: string): string {
  return idProperty === 'email' ? foldEmailCase(value) : value;
}

/** The address of a record by a unique property's value: what resolution maps to a record id. */
export function addressKeyOf(account: string, objectType: string, idProperty: string, value: string): string {
  return objectKeyOf(account, objectType, idProperty, normalizeAddress(idProperty, value));
}

/** The parts of an object key built by {@link objectKeyOf}; `idProperty` only when the key has one. */
export function parseObjectKey(objectKey: string): {
  account: string;
  objectType: string;
  idProperty?: string;
  id: string;
} {
  const [account = '', objectType = '', idProperty = '', ...rest] = objectKey.split(KEY_SEPARATOR);
  return { account, objectType, ...(idProperty ? { idProperty } : {}), id: rest.join(KEY_SEPARATOR) };
}

/**
 * One pending update as stored in an object's list: `seq:enqueuedAt:attempts:jobId`, with `i` after the attempts
 * for an update of the interactive lane (`12:1764300000000:0i:t-order-42`). The lane travels with the entry
 * through every move (claim, retry, hand-back, resolution), so each script knows it without reading the job.
 */
export interface Entry {
  seq: number;
  enqueuedAt: number;
  attempts: number;
  jobId: string;
  /** True for an update of the interactive lane. */
  interactive?: boolean;
}

export function parseEntry(raw: string): Entry {
  const m = /^(\d+):(\d+):(\d+)(i?):(.*)$/s.exec(raw);
  if (!m) throw new Error(`malformed queue entry: ${raw}`);
  const entry: Entry = {
    seq: Number(m[1]),
    enqueuedAt: Number(m[2]),
    attempts: Number(m[3]),
    jobId: m[5] ?? '',
  };
  if (m[4] === 'i') entry.interactive = true;
  return entry;
}

export function formatEntry(e: Entry): string {
  return `${e.seq}:${e.enqueuedAt}:${e.attempts}${e.interactive ? 'i' : ''}:${e.jobId}`;
}

/** The BullMQ job id of an update: stable, so enqueueing the same trace id twice is one job. */
export function jobIdFor(objectWriteTraceId: string): string {
  return `t-${objectWriteTraceId}`;
}

/**
 * The trace id of a job whose data names none: its job id without the producer's `t-` (a job another BullMQ
 * client added answers under its own id).
 */
export function traceIdOfJobId(jobId: string): string {
  return jobId.startsWith('t-') ? jobId.slice(2) : jobId;
}

/** `|` separates a dead-letter member's fields, so it may not appear inside a trace id or a category. */
export function memberField(text: string): string {
  return text.replaceAll(KEY_SEPARATOR, '_');
}

/** The dead-letter index member of a failed update: `traceId|category|jobId` (see {@link parseFailedMember}). */
export function failedMember(traceId: string, category: string, jobId: string): string {
  return `${memberField(traceId)}${KEY_SEPARATOR}${memberField(category)}${KEY_SEPARATOR}${jobId}`;
}

/** One parsed index member. `category` is undefined for a member in the earlier `jobId|traceId` form. */
export interface FailedMember {
  traceId: string;
  category: string | undefined;
  jobId: string;
}

/**
 * Members of the dead-letter index (the `failed` zset, scored by finish time in ms) are `traceId|category|jobId`.
 * The category travels with the entry so that pruning can take the entry off the `failed:<category>` counter
 * after its outcome record has expired. Trace ids never contain `|` and categories have it replaced, so the first
 * two `|` separate the fields and the job id, which may contain `|`, comes last.
 *
 * Queues written by earlier versions hold `jobId|traceId`. Such a member has exactly one `|` (job ids made by the
 * producer are `t-<traceId>`), which is how it is told apart; its category is unknown until its outcome record is
 * read. Undefined for a string that is neither form.
 */
export function parseFailedMember(member: string): FailedMember | undefined {
  const first = member.indexOf(KEY_SEPARATOR);
  if (first <= 0) return undefined;
  const second = member.indexOf(KEY_SEPARATOR, first + 1);
  if (second < 0) {
    const traceId = member.slice(first + 1);
    return traceId === '' ? undefined : { traceId, category: undefined, jobId: member.slice(0, first) };
  }
  const jobId = member.slice(second + 1);
  if (jobId === '') return undefined;
  return { traceId: member.slice(0, first), category: member.slice(first + 1, second), jobId };
}

/**
 * The README's table of the keys a queue owns, rendered from {@link KEY_TABLE}; `Q` stands for the queue name.
 */
export function keysMarkdown(): string {
  const rows = ['| key | type | holds | written by | lives |', '| --- | --- | --- | --- | --- |'];
  for (const doc of Object.values(KEY_TABLE) as KeyDoc[]) {
    const base = doc.bull ? 'hbq:{Q}:Q:' : 'hbq:{Q}:';
    const key = `${base}${doc.suffix}${doc.arg ? `<${doc.arg}>` : ''}${doc.tail ?? ''}`;
    // A `|` inside a cell (code spans included) would end the cell in GitHub's tables.
    const cells = [`\`${key}\``, doc.type, doc.holds, doc.writers, doc.ttl].map((c) =>
      c.replaceAll('|', '\\|'),
    );
    rows.push(`| ${cells.join(' | ')} |`);
  }
  return `${rows.join('\n')}\n`;
}
