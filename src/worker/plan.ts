import { backoffDelayMs } from '../hubspot/backoff.js';
import { ATTEMPT_POLICY, type AttemptReason } from '../hubspot/policy.js';
import { addressKeyOf, formatEntry, parseObjectKey } from '../keys.js';
import type { OutcomeError } from '../outcomes/outcome.js';
import type { EndFacts } from '../outcomes/record.js';
import { withBatch } from '../story/batch-story.js';
import type { Member, PreparedBatch, PreparedInput } from './prepare.js';
import type { InputFate } from './send.js';
import type { ClaimedObject, SettlePlan } from './store-types.js';

export interface PlanOptions {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  windowMs: number;
  /** How long an object is held after a call that may still apply (see `SettlePlan` holds). */
  holdMs: number;
  /**
   * Fails every update that would go back to the queue (a retry or a hand-back) with this error instead: an
   * operator failed the account while the batch was in flight (`fail-account`). What the call settled stays.
   */
  failUnfinished?: OutcomeError;
  random?: () => number;
  /**
   * The batch's id and the inputs a call carried: every update's outcome record names the batch, and an update
   * that stays queued after a call carried it keeps the batch in its job (`history`), for `explain`.
   */
  story?: { batchId: string; carried: ReadonlySet<number> };
}

/** Counts by what happened, for metrics. */
export interface PlanSummary {
  succeeded: number;
  failed: number;
  superseded: number;
  retrying: number;
  requeued: number;
}

/**
 * Turns the fate of every input into the settle plan: one terminal outcome per finished update, a backoff for
 * retried ones (or a final failure once attempts run out), and a hand-back for updates that were not attempted.
 * Every claimed object appears in the plan so its in-flight mark is released. Terminal outcomes carry no
 * `finishedAt`: settle.lua stamps it on Redis's clock, the clock `enqueuedAt` comes from. Pure.
 */
export function buildSettlePlan(
  claimed: readonly ClaimedObject[],
  batch: PreparedBatch,
  fates: ReadonlyMap<number, InputFate>,
  options: PlanOptions,
): { plan: SettlePlan; summary: PlanSummary } {
  const summary: PlanSummary = { succeeded: 0, failed: 0, superseded: 0, retrying: 0, requeued: 0 };
  const objects = new Map<string, SettlePlan['objects'][number]>();
  for (const obj of claimed) {
    objects.set(obj.objectKey, {
      key: obj.objectKey,
      group: batch.group,
      done: [],
      retry: [],
      requeue: [],
      landed: {},
      sent: {},
    });
  }
  const slot = (m: Member) => objects.get(m.objectKey) as SettlePlan['objects'][number];
  const story = options.story;
  const histOf = (m: Member): { hist?: string; ingestedAt?: number } => ({
    ...(story ? { hist: withBatch(m.history, story.batchId) } : {}),
    ...(m.ingestedAt !== undefined ? { ingestedAt: m.ingestedAt } : {}),
  });
  // An update that stays queued keeps the batches that carried it, in its job.
  const remember = (m: Member) => {
    if (!story) return;
    const target = slot(m);
    target.history ??= [];
    target.history.push({ job: m.entry.jobId, batches: withBatch(m.history, story.batchId) });
  };

  const finish = (
    m: Member,
    status: 'succeeded' | 'failed' | 'superseded',
    attempts: number,
    extra: Extra = {},
  ) => {
    slot(m).done.push({
      job: m.entry.jobId,
      seq: m.entry.seq,
      status,
      ...(m.sets !== undefined ? { sets: m.sets } : {}),
      ...facts(m, attempts, { ...extra, ...histOf(m) }),
    });
    summary[status]++;
  };
  const unfinished = options.failUnfinished;
  const requeue = (m: Member, carried = false) => {
    if (unfinished) finish(m, 'failed', m.entry.attempts, { error: unfinished });
    else {
      slot(m).requeue.push(formatEntry(m.entry));
      if (carried) remember(m);
      summary.requeued++;
    }
  };

  /** Backs the updates off for `reason`, together (they come back and merge again), or fails them once spent. */
  const retry = (
    members: readonly Member[],
    reason: AttemptReason,
    error: OutcomeError,
    retryAfterMs?: number,
  ) => {
    const row = ATTEMPT_POLICY[reason];
    const spent = (m: Member) => (row.spendsAttempt ? m.entry.attempts + 1 : m.entry.attempts);
    const delayMs = backoffDelayMs(reason, Math.max(1, ...members.map(spent)), {
      baseMs: options.backoffBaseMs,
      maxMs: options.backoffMaxMs,
      windowMs: options.windowMs,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(options.random ? { random: options.random } : {}),
    });
    for (const m of members) {
      const attempts = spent(m);
      if (unfinished) {
        finish(m, 'failed', attempts, { error: unfinished });
        continue;
      }
      if (attempts >= options.maxAttempts) {
        finish(m, 'failed', attempts, {
          error: { ...error, message: `gave up after ${attempts} attempts: ${error.message}` },
        });
        continue;
      }
      const entry = formatEntry({ ...m.entry, attempts });
      slot(m).retry.push({ entry, delayMs, ...facts(m, attempts, { error, ...histOf(m) }) });
      remember(m);
      summary.retrying++;
    }
  };

  for (const d of batch.early) {
    if (d.status === 'failed') finish(d.member, 'failed', d.member.entry.attempts, { error: d.error });
    else if (d.status === 'requeue') requeue(d.member);
    else if (d.status === 'wait') retry([d.member], 'newer_unconfirmed', unconfirmedError(d.properties));
    else finish(d.member, 'superseded', d.member.entry.attempts);
  }

  batch.inputs.forEach((prepared, i) => {
    const fate: InputFate = fates.get(i) ?? { kind: 'requeue', reason: 'not sent' };
    const carried = story?.carried.has(i) ?? false;
    const attempted = prepared.members.map((m) => m.entry.attempts + 1);
    if ((fate.kind === 'retry' || fate.kind === 'requeue') && fate.ambiguous && options.holdMs > 0) {
      // The call may still apply: until the hold ends only these updates may be sent for the object.
      slot(prepared.members[0] as Member).hold = {
        ms: options.holdMs,
        jobs: prepared.members.map((m) => m.entry.jobId),
      };
    }
    if ((fate.kind === 'retry' || fate.kind === 'requeue') && fate.ambiguous) {
      // Whether or not the call applied, no value older than the ones it carried may be written after it.
      Object.assign(slot(prepared.members[0] as Member).sent, prepared.sequences);
    }
    switch (fate.kind) {
      case 'succeeded':
        prepared.members.forEach((m, j) => {
          // The record's id: as HubSpot's result gave it, else the object's own (objects are records).
          const recordId = fate.hubspotObjectId ?? recordIdOf(prepared.objectKey);
          const extra = recordId ? { hubspotObjectId: recordId } : {};
          finish(m, m.wins.length > 0 ? 'succeeded' : 'superseded', attempted[j] ?? 1, extra);
        });
        Object.assign(slot(prepared.members[0] as Member).landed, prepared.sequences);
        learn(slot(prepared.members[0] as Member), prepared, batch.objectType);
        break;
      case 'failed':
        prepared.members.forEach((m, j) => {
          const address = refutedAddress(m, prepared.objectKey, fate.error.category);
          if (address) {
            // The cached record is gone (merged, deleted) or the value moved: the address is looked up again.
            const target = slot(m);
            target.unresolve ??= [];
            target.unresolve.push({ entry: formatEntry(m.entry), address });
            remember(m);
            summary.requeued++;
            return;
          }
          const attempts = fate.attempted === false ? m.entry.attempts : (attempted[j] ?? 1);
          finish(m, 'failed', attempts, { error: fate.error });
        });
        break;
      case 'poison': {
        // Only the updates that wrote a bad property fail; the others are sent again without it.
        const bad = prepared.members.filter((m) => m.wins.some((p) => fate.badProperties.includes(p)));
        const failing = bad.length > 0 ? bad : prepared.members;
        // HubSpot refused these values: no call carrying them applied, so they no longer fence older ones.
        const target = slot(prepared.members[0] as Member);
        const refuted = { ...target.refuted };
        for (const p of fate.badProperties) {
          const seq = prepared.sequences[p];
          if (seq !== undefined) refuted[p] = seq;
        }
        if (Object.keys(refuted).length > 0) target.refuted = refuted;
        for (const m of prepared.members) {
          if (failing.includes(m)) finish(m, 'failed', m.entry.attempts + 1, { error: fate.error });
          else requeue(m, carried);
        }
        break;
      }
      case 'retry':
        // One wait for the whole input: its updates come back together and merge into the same input again.
        retry(prepared.members, fate.reason, fate.error, fate.retryAfterMs);
        break;
      case 'requeue':
        for (const m of prepared.members) requeue(m, carried);
        break;
    }
  });
  return { plan: { objects: [...objects.values()] }, summary };
}

interface Extra {
  error?: OutcomeError;
  hubspotObjectId?: string;
  hist?: string;
  ingestedAt?: number;
}

function unconfirmedError(properties: readonly string[]): OutcomeError {
  return {
    category: 'NEWER_VALUE_UNCONFIRMED',
    message:
      `a newer value of ${properties.join(', ')} was sent in a call whose outcome is unknown: this older value ` +
      'may not be written after it, and is not superseded unless that value is confirmed to have landed',
  };
}

function facts(m: Member, attempts: number, extra: Extra): EndFacts {
  // An update addressed by a unique property's value answers under that address, not its record's id.
  const address = m.update?.idProperty ? { id: m.update.id, idProperty: m.update.idProperty } : {};
  return {
    trace: m.trace,
    ...address,
    attempts,
    enqueuedAt: m.entry.enqueuedAt,
    fp: m.fingerprint,
    ...(m.entry.interactive ? { priority: 'interactive' as const } : {}),
    ...extra,
  };
}

function recordIdOf(objectKey: string): string | undefined {
  const { idProperty, id } = parseObjectKey(objectKey);
  return idProperty === undefined ? id : undefined;
}

/**
 * The address to look up again when HubSpot answered OBJECT_NOT_FOUND for an update that reached its record through
 * a cached mapping (it was addressed by a unique property's value): once; a second refusal fails it.
 */
function refutedAddress(m: Member, objectKey: string, category: string): string | undefined {
  const update = m.update;
  if (category !== 'OBJECT_NOT_FOUND' || !update?.idProperty || m.reresolved) return undefined;
  const key = parseObjectKey(objectKey);
  if (key.idProperty !== undefined) return undefined;
  return addressKeyOf(key.account, key.objectType, update.idProperty, update.id);
}

/**
 * The unique values a record was just seen to have: the values the input wrote for the properties its updates
 * were addressed by, and a contact's email (a changed value moves the mapping). The addresses the updates used
 * are not learnt: the call went by record id, so it confirms nothing about them, and an address routed by a
 * mapping an email change (in an earlier batch) has since replaced would map the old value to the record again.
 */
function learn(object: SettlePlan['objects'][number], prepared: PreparedInput, objectType: string): void {
  const unique = new Set<string>(objectType === 'contacts' ? ['email'] : []);
  for (const m of prepared.members) if (m.update?.idProperty) unique.add(m.update.idProperty);
  const learnt: Array<{ idProperty: string; value: string }> = [];
  for (const p of unique) {
    const value = prepared.input.properties[p];
    if (value !== undefined) learnt.push({ idProperty: p, value });
  }
  if (learnt.length > 0) object.learn = learnt;
}
