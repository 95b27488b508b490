import type { BatchInput } from '../hubspot/port.js';
import { type Entry, parseGroup, parseObjectKey } from '../keys.js';
import type { OutcomeError } from '../outcomes/outcome.js';
import {
  describeIssues,
  fingerprint as fingerprintOf,
  fingerprintOfJobData,
  toHubSpotValue,
  type Update,
  type UpdateLimits,
  updateSchema,
} from '../update.js';
import { mergeObjectUpdates } from './merge.js';
import type { ClaimedObject } from './store-types.js';

/** One update of a claimed batch, as the worker tracks it until it settles. */
export interface Member {
  entry: Entry;
  trace: string;
  objectKey: string;
  group: string;
  /** Parsed update; absent when the job data failed validation. */
  update?: Update;
  /** Properties this update writes in its input (empty for riders). */
  wins: string[];
  /** Fingerprint of the job data, kept in the outcome record (a reused trace id is checked against it). */
  fingerprint: string;
  /** Its address was looked up again already, after HubSpot refuted the record it was mapped to. */
  reresolved?: boolean;
  /** The producer's W3C traceparent: call spans link to it. */
  traceparent?: string;
  /** When the queue took it from the wait list (epoch ms), for its outcome record. */
  ingestedAt?: number;
  /** The batches it was in before this one (ids), for its outcome record and `explain`. */
  history?: string[];
  /** The addresses it sets, as its job keeps them (`sets`, '' for none): settle need not read them again. */
  sets?: string;
}

/** One input of the batch and every update riding on it. */
export interface PreparedInput {
  input: BatchInput;
  objectKey: string;
  members: Member[];
  /** Fence to record per property once the input lands. */
  sequences: Record<string, number>;
}

/** A decision taken before anything is sent. */
export type EarlyDecision =
  | { member: Member; status: 'failed'; error: OutcomeError }
  | { member: Member; status: 'superseded' }
  /** Not sent in this batch: back to pending as it was, without spending an attempt. */
  | { member: Member; status: 'requeue'; reason: string }
  /**
   * Not sent, and not superseded yet: newer values of these properties went out in a call whose outcome is
   * unknown, so this value may not be written and is decided once those are (see `mergeObjectUpdates`).
   */
  | { member: Member; status: 'wait'; properties: string[] };

export interface PreparedBatch {
  account: string;
  objectType: string;
  group: string;
  inputs: PreparedInput[];
  early: EarlyDecision[];
  /** Updates merged into an input written by another update (metrics). */
  merged: number;
}

/** Checks a property set against HubSpot's schema; returns the problems (empty when valid). */
export type PropertyValidator = (
  properties: Record<string, string>,
) => Array<{ name: string; code: string; message: string }>;

/** The trace id of a job: its data's, else derived from the job id (`t-<traceId>`), else the job id itself. */
export function traceIdOfJob(jobId: string, data: unknown): string {
  if (data && typeof data === 'object' && 'objectWriteTraceId' in data) {
    const t = (data as { objectWriteTraceId?: unknown }).objectWriteTraceId;
    if (typeof t === 'string' && t.length > 0) return t;
  }
  return jobId.startsWith('t-') ? jobId.slice(2) : jobId;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/**
 * Turns claimed objects into a batch: validates the updates our producer did not (jobs other clients added), checks
 * values against HubSpot's property schema when a validator is given, and merges each object's updates into one
 * input. Two objects whose ids are the same string (a record id and a unique property's value, or one email in
 * two cases) never share a batch: HubSpot's answer names failed inputs by id, so it could not tell them apart;
 * the later one is handed back to the queue. Pure: no I/O.
 */
export function prepareBatch(
  group: string,
  objects: readonly ClaimedObject[],
  validator?: PropertyValidator,
  options: { maxAttempts?: number; limits?: Partial<UpdateLimits> } = {},
): PreparedBatch {
  const schema = updateSchema(options.limits);
  const { account, objectType } = parseGroup(group);
  const inputs: PreparedInput[] = [];
  const early: EarlyDecision[] = [];
  // HubSpot echoes emails in another case, so ids are compared folded.
  const idsInBatch = new Set<string>();
  let merged = 0;

  for (const obj of objects) {
    const valid: Array<{ seq: number; update: Update; member: Member }> = [];
    for (const claimed of obj.updates) {
      const { entry, data, reclaims = 0, checked = false, reresolved } = claimed;
      const raw = safeJson(data);
      const trace = traceIdOfJob(entry.jobId, raw);
      // Our producer wrote checked data in its canonical form: its fingerprint is the data's own.
      const trusted = checked && hasUpdateShape(raw);
      const fingerprint = trusted ? fingerprintOf(data) : fingerprintOfJobData(data, trace);
      const member: Member = {
        entry,
        trace,
        objectKey: obj.objectKey,
        group,
        wins: [],
        fingerprint,
        ...(reresolved ? { reresolved } : {}),
        ...(claimed.traceparent ? { traceparent: claimed.traceparent } : {}),
        ...(claimed.ingestedAt !== undefined ? { ingestedAt: claimed.ingestedAt } : {}),
        ...(claimed.history ? { history: claimed.history } : {}),
        ...(claimed.sets !== undefined ? { sets: claimed.sets } : {}),
      };
      if (options.maxAttempts !== undefined && entry.attempts >= options.maxAttempts) {
        // Retries that run out fail when they settle; an update that comes back already spent was taken back
        // from batches whose worker stopped answering during their calls, one attempt each time.
        early.push({ member, status: 'failed', error: leaseExpiredError(entry.attempts) });
        continue;
      }
      if (options.maxAttempts !== undefined && reclaims >= options.maxAttempts) {
        // Taken back that often before any call (its worker died each time, perhaps on this very batch): no
        // attempt was spent, but it must not go round forever.
        early.push({ member, status: 'failed', error: reclaimedError(reclaims) });
        continue;
      }
      if (raw === undefined) {
        early.push({ member, status: 'failed', error: validationError(['job data is not valid JSON']) });
        continue;
      }
      // Validated once, where it entered: by our producer, or here for jobs other clients added.
      const parsed = trusted ? { success: true as const, data: raw } : schema.safeParse(raw);
      if (!parsed.success) {
        early.push({ member, status: 'failed', error: validationError(describeIssues(parsed.error)) });
        continue;
      }
      const update: Update = {
        ...parsed.data,
        objectWriteTraceId: trace,
        account: parsed.data.account ?? account,
      };
      member.update = update;
      if (validator) {
        const problems = validator(stringProps(update));
        if (problems.length > 0) {
          early.push({
            member,
            status: 'failed',
            error: {
              category: 'VALIDATION_ERROR',
              message: problems.map((p) => `${p.message} (${p.code})`).join('; '),
            },
          });
          continue;
        }
      }
      valid.push({ seq: entry.seq, update, member });
    }
    if (valid.length === 0) continue;

    const merge = mergeObjectUpdates(valid, obj.landed);
    const byTrace = new Map(valid.map((v) => [v.update.objectWriteTraceId, v.member]));
    for (const trace of merge.fenced) {
      const member = byTrace.get(trace);
      if (member) early.push({ member, status: 'superseded' });
    }
    for (const { trace, properties } of merge.waiting) {
      const member = byTrace.get(trace);
      if (member) early.push({ member, status: 'wait', properties });
    }
    if (!merge.input) continue;
    const input = toRecord(merge.input, obj.objectKey);
    const members: Member[] = [];
    for (const [trace, wins] of merge.contributors) {
      const member = byTrace.get(trace);
      if (member) members.push({ ...member, wins });
    }
    for (const trace of merge.riders) {
      const member = byTrace.get(trace);
      if (member) members.push(member);
    }
    const folded = input.id.toLowerCase();
    if (idsInBatch.has(folded)) {
      for (const member of members) early.push({ member, status: 'requeue', reason: 'id shared in batch' });
      continue;
    }
    idsInBatch.add(folded);
    merged += members.length - 1;
    inputs.push({ input, objectKey: obj.objectKey, members, sequences: merge.sequences });
  }
  return { account, objectType, group, inputs, early, merged };
}

/**
 * The shape of an update, checked cheaply: for data our producer validated, a guard against a foreign job that
 * took its job name, not a second validation.
 */
function hasUpdateShape(raw: unknown): raw is Update {
  if (!raw || typeof raw !== 'object') return false;
  const u = raw as Record<string, unknown>;
  return (
    typeof u.objectType === 'string' &&
    typeof u.id === 'string' &&
    (u.idProperty === undefined || typeof u.idProperty === 'string') &&
    (u.account === undefined || typeof u.account === 'string') &&
    typeof u.properties === 'object' &&
    u.properties !== null &&
    !Array.isArray(u.properties) &&
    Object.values(u.properties).every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))
  );
}

/**
 * The input as sent: an object keyed by its record id (however its updates addressed it, see resolve.lua) is
 * sent by that id; an object still keyed by an address (queues from before resolution) as its updates said.
 */
function toRecord(input: BatchInput, objectKey: string): BatchInput {
  const { idProperty, id } = parseObjectKey(objectKey);
  if (idProperty !== undefined) return input;
  const { idProperty: _addressed, ...rest } = input;
  return { ...rest, id };
}

/** The values as they will be sent (a number as its plain decimal), which is what HubSpot's schema judges. */
function stringProps(update: Update): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(update.properties)) out[k] = toHubSpotValue(v);
  return out;
}

function leaseExpiredError(attempts: number): OutcomeError {
  return {
    category: 'LEASE_EXPIRED',
    message: `gave up after ${attempts} attempts: the worker holding its batch stopped answering during a HubSpot call, and its lease expired`,
  };
}

function reclaimedError(reclaims: number): OutcomeError {
  return {
    category: 'LEASE_EXPIRED',
    message: `gave up after its batch was taken back ${reclaims} times before any HubSpot call: the workers holding it kept stopping`,
  };
}

function validationError(issues: string[]): OutcomeError {
  return { category: 'VALIDATION_ERROR', message: `invalid update: ${issues.join('; ')}` };
}
