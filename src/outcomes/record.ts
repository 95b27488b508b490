import type { Outcome, OutcomeError, OutcomeStatus } from './outcome.js';

/**
 * What the outcome record of an update of a batch is built from, besides what its object key says (account,
 * object type, id): finish.lua builds the record, so its shape is written in one place.
 */
export interface EndFacts {
  trace: string;
  /** The address the update used, when it is not its object's key (a unique property's value for a record). */
  id?: string;
  idProperty?: string;
  attempts: number;
  enqueuedAt: number;
  /** Fingerprint of the update's canonical job data (`fingerprintOfJobData`). */
  fp?: string;
  hubspotObjectId?: string;
  error?: OutcomeError;
  /** `interactive` for an update of the interactive lane; absent for bulk. */
  priority?: 'interactive';
  /** When the queue took the update in (epoch ms), for `explain`. */
  ingestedAt?: number;
  /** The batches the update was in, oldest first, comma-separated (bounded): `explain` reads their stories. */
  hist?: string;
}

/**
 * The facts of a record with no object key to read them from (a job that could not be routed); its enqueue time
 * is the job's own.
 */
export interface RecordFacts extends Omit<EndFacts, 'enqueuedAt' | 'id'> {
  account: string;
  objectType: string;
  id: string;
}

/**
 * An outcome as stored in Redis: the {@link Outcome} plus internal fields readers strip. `fp` fingerprints the
 * update the trace id was used for, so a finished update's trace id (its job gone) can still be told apart from
 * a different update reusing it.
 */
export type StoredOutcome = Outcome & { fp?: string; hist?: string; ingestedAt?: number };

/**
 * How workers write outcome records. `compact` (format 1, the default) is a positional array, about half the
 * memory; `object` is the JSON object versions before it wrote, which are also the only records they read: keep
 * it while producers of such a version still use the queue (`record-format`, see the README's upgrade note).
 */
export const OutcomeRecordFormat = { compact: 'compact', object: 'object' } as const;
export type OutcomeRecordFormat = (typeof OutcomeRecordFormat)[keyof typeof OutcomeRecordFormat];

/** Whether `value` names an {@link OutcomeRecordFormat}. */
export function isRecordFormat(value: unknown): value is OutcomeRecordFormat {
  return value === OutcomeRecordFormat.compact || value === OutcomeRecordFormat.object;
}

/** The first element of a record of format 1 (finish.lua): a JSON array of fields by position. */
const FORMAT_1 = 1;

/**
 * Where each field of a format-1 record sits (0-based; finish.lua writes them in this order, and the Lua
 * prelude's `K.readRecord` reads its positions from here). Times are offsets from `enqueuedAt`.
 */
export const RECORD_FIELD = {
  format: 0,
  trace: 1,
  status: 2,
  account: 3,
  objectType: 4,
  id: 5,
  attempts: 6,
  enqueuedAt: 7,
  finishedAfter: 8,
  hubspotObjectId: 9,
  idProperty: 10,
  priority: 11,
  error: 12,
  ingestedAfter: 13,
  fp: 14,
  hist: 15,
} as const;

/** The format a queue's `record-format` key names: `object` only when it says so. */
export function recordFormatOf(stored: string | null | undefined): OutcomeRecordFormat {
  return stored === OutcomeRecordFormat.object ? OutcomeRecordFormat.object : OutcomeRecordFormat.compact;
}

const STATUSES: ReadonlySet<string> = new Set<OutcomeStatus>([
  'queued',
  'retrying',
  'succeeded',
  'failed',
  'superseded',
]);

/** The record's value could not be read as an outcome. */
export class OutcomeRecordError extends Error {
  readonly code = 'OUTCOME_RECORD_UNREADABLE';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Reads a record of format 1: `[1, trace, status, account, objectType, id, attempts, enqueuedAt, finishedAt -
 * enqueuedAt, hubspotObjectId, idProperty, priority, [category, message, httpStatus], ingestedAt - enqueuedAt, fp,
 * hist]`, `''` for an absent field and trailing ones left out; a stream entry leaves out the internal fields (the
 * last three). The trace is `''` in a record stored under its trace id's key (the key names it), so `trace`
 * supplies it.
 */
function fromArray(a: readonly unknown[], trace: string): StoredOutcome {
  const F = RECORD_FIELD;
  const status = a[F.status];
  if (typeof status !== 'string' || !STATUSES.has(status))
    throw new OutcomeRecordError('record without a status');
  const enqueuedAt = num(a[F.enqueuedAt]) ?? 0;
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const out: StoredOutcome = {
    objectWriteTraceId: str(a[F.trace]) ?? trace,
    status: status as OutcomeStatus,
    account: text(a[F.account]),
    objectType: text(a[F.objectType]),
    id: typeof a[F.id] === 'string' ? (a[F.id] as string) : String(a[F.id] ?? ''),
    attempts: num(a[F.attempts]) ?? 0,
    enqueuedAt,
  };
  const idProperty = str(a[F.idProperty]);
  if (idProperty) out.idProperty = idProperty;
  const finished = num(a[F.finishedAfter]);
  if (finished !== undefined) out.finishedAt = enqueuedAt + finished;
  const hubspotObjectId = str(a[F.hubspotObjectId]);
  if (hubspotObjectId) out.hubspotObjectId = hubspotObjectId;
  const e = a[F.error];
  if (Array.isArray(e)) {
    const httpStatus = num(e[2]);
    out.error = {
      category: text(e[0]),
      message: text(e[1]),
      ...(httpStatus !== undefined ? { httpStatus } : {}),
    };
  }
  if (a[F.priority] === 'interactive') out.priority = 'interactive';
  const ingested = num(a[F.ingestedAfter]);
  if (ingested !== undefined) out.ingestedAt = enqueuedAt + ingested;
  const fp = str(a[F.fp]);
  if (fp) out.fp = fp;
  const hist = str(a[F.hist]);
  if (hist) out.hist = hist;
  return out;
}

/**
 * Reads a record's parsed JSON in either shape: format 1 (an array), or the object records were before it (still
 * found in a queue written by an older version until they expire). `trace` names the record when it does not.
 */
export function decodeStoredOutcome(value: unknown, trace = ''): StoredOutcome {
  if (Array.isArray(value)) {
    if (value[0] !== FORMAT_1) throw new OutcomeRecordError(`record of unknown format ${String(value[0])}`);
    return fromArray(value, trace);
  }
  if (value !== null && typeof value === 'object') {
    const o = value as StoredOutcome;
    return typeof o.objectWriteTraceId === 'string' ? o : { ...o, objectWriteTraceId: trace };
  }
  throw new OutcomeRecordError('record is not an array or an object');
}

/** Reads a stored record with its internal fields (for `explain`). Throws on a value that is not a record. */
export function parseStoredRecord(record: string, trace = ''): StoredOutcome {
  return decodeStoredOutcome(JSON.parse(record) as unknown, trace);
}

/** Leaves out a stored outcome's internal fields (kept for `explain`). */
export function publicOutcome(stored: StoredOutcome): Outcome {
  const { fp: _fp, hist: _hist, ingestedAt: _ingestedAt, ...outcome } = stored;
  return outcome;
}

/** Reads a stored outcome record for users: internal fields (kept for `explain`) are left out. */
export function parseOutcomeRecord(record: string, trace = ''): Outcome {
  return publicOutcome(parseStoredRecord(record, trace));
}

/** The fingerprint a stored outcome record keeps, if it has one (records written before it existed do not). */
export function fingerprintOfRecord(record: string): string | undefined {
  try {
    return parseStoredRecord(record).fp;
  } catch {
    return undefined;
  }
}
