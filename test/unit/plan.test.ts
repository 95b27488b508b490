import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../src/hubspot/backoff.js';
import { objectKeyOf } from '../../src/keys.js';
import { fingerprintOfJobData } from '../../src/update.js';
import { buildSettlePlan, type PlanOptions } from '../../src/worker/plan.js';
import { prepareBatch } from '../../src/worker/prepare.js';
import type { InputFate } from '../../src/worker/send.js';
import type { ClaimedObject, SettlePlan } from '../../src/worker/store-types.js';

const GROUP = 'acct-1|contacts';

const OPTIONS: PlanOptions = {
  maxAttempts: 3,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  windowMs: 10_000,
  holdMs: 30_000,
  random: () => 0,
};

interface UpdateSpec {
  seq: number;
  trace: string;
  properties: Record<string, string>;
  attempts?: number;
  data?: string;
}

function object(id: string, updates: UpdateSpec[], landed: Record<string, number> = {}): ClaimedObject {
  return {
    objectKey: objectKeyOf('acct-1', 'contacts', undefined, id),
    updates: updates.map((u) => ({
      entry: { seq: u.seq, enqueuedAt: 5_000 + u.seq, attempts: u.attempts ?? 0, jobId: `t-${u.trace}` },
      data:
        u.data ??
        JSON.stringify({ objectType: 'contacts', id, properties: u.properties, objectWriteTraceId: u.trace }),
    })),
    landed,
  };
}

/**
 * One object with a contributor `a` (firstname, seq 1), a contributor `b` (lastname, seq 3) and a rider `r`
 * (firstname, seq 0) whose value `a` overrides, at the given attempts.
 */
function threeUpdates(id: string, attempts = 0): ClaimedObject {
  return object(id, [
    { seq: 0, trace: `${id}-r`, properties: { firstname: 'old' }, attempts },
    { seq: 1, trace: `${id}-a`, properties: { firstname: 'Ada' }, attempts },
    { seq: 3, trace: `${id}-b`, properties: { lastname: 'Lovelace' }, attempts },
  ]);
}

function plan(
  claimed: ClaimedObject[],
  fates: Array<[number, InputFate]>,
  options: Partial<PlanOptions> = {},
) {
  const batch = prepareBatch(GROUP, claimed);
  return { batch, ...buildSettlePlan(claimed, batch, new Map(fates), { ...OPTIONS, ...options }) };
}

type Slot = SettlePlan['objects'][number];

function slotOf(result: { plan: SettlePlan }, obj: ClaimedObject): Slot {
  const slot = result.plan.objects.find((o) => o.key === obj.objectKey);
  if (!slot) throw new Error(`no slot for ${obj.objectKey}`);
  return slot;
}

/** Trace id → [status, attempts, error category] of the slot's terminal outcomes. */
function done(slot: Slot): Record<string, [string, number, string | undefined]> {
  return Object.fromEntries(
    slot.done.map((d) => {
      return [d.trace, [d.status, d.attempts, d.error?.category]];
    }),
  );
}

const entryOf = (obj: ClaimedObject, trace: string) => {
  const e = obj.updates.find((u) => u.entry.jobId === `t-${trace}`)?.entry;
  if (!e) throw new Error(`no entry ${trace}`);
  return e;
};
const formatted = (obj: ClaimedObject, trace: string, attempts?: number) => {
  const e = entryOf(obj, trace);
  return `${e.seq}:${e.enqueuedAt}:${attempts ?? e.attempts}:${e.jobId}`;
};

const serverError = { category: 'SERVER_ERROR', message: 'HTTP 502 from HubSpot', httpStatus: 502 };

describe('buildSettlePlan', () => {
  it('lists every claimed object, with the batch group, even one with nothing to settle', () => {
    const sent = threeUpdates('1');
    const quiet = object('2', []);
    const result = plan([sent, quiet], [[0, { kind: 'succeeded' }]]);
    expect(result.plan.objects.map((o) => o.key)).toEqual([sent.objectKey, quiet.objectKey]);
    expect(slotOf(result, quiet)).toEqual({
      key: quiet.objectKey,
      group: GROUP,
      done: [],
      retry: [],
      requeue: [],
      landed: {},
      sent: {},
    });
  });

  it('succeeds the contributors, supersedes the riders, spends an attempt and records the landed fences', () => {
    const obj = threeUpdates('10', 1);
    const result = plan([obj], [[0, { kind: 'succeeded', hubspotObjectId: '9001' }]]);
    const slot = slotOf(result, obj);
    expect(done(slot)).toEqual({
      '10-a': ['succeeded', 2, undefined],
      '10-b': ['succeeded', 2, undefined],
      '10-r': ['superseded', 2, undefined],
    });
    expect(slot.done.map((d) => [d.trace, d.job, d.seq])).toEqual([
      ['10-a', 't-10-a', 1],
      ['10-b', 't-10-b', 3],
      ['10-r', 't-10-r', 0],
    ]);
    // The fence of each property is the sequence of the value that landed.
    expect(slot.landed).toEqual({ firstname: 1, lastname: 3 });
    expect(slot.sent).toEqual({});
    expect(slot.hold).toBeUndefined();
    expect(result.summary).toEqual({ succeeded: 2, failed: 0, superseded: 1, retrying: 0, requeued: 0 });
  });

  it('gives settle the facts of each outcome (HubSpot id, fingerprint) and leaves the record and finishedAt to it', () => {
    const obj = threeUpdates('11');
    const slot = slotOf(plan([obj], [[0, { kind: 'succeeded', hubspotObjectId: '9002' }]]), obj);
    const a = slot.done.find((d) => d.trace === '11-a');
    expect(a).toEqual({
      job: obj.updates[1]?.entry.jobId,
      seq: obj.updates[1]?.entry.seq,
      trace: '11-a',
      status: 'succeeded',
      attempts: 1,
      enqueuedAt: 5_001,
      hubspotObjectId: '9002',
      fp: fingerprintOfJobData(obj.updates[1]?.data ?? '', '11-a'),
    });
  });

  it('settles the early decisions: failed and superseded without spending, requeued as claimed', () => {
    const obj = object(
      '12',
      [
        { seq: 1, trace: 'bad', properties: {}, data: 'not json', attempts: 2 },
        { seq: 2, trace: 'fenced', properties: { firstname: 'old' }, attempts: 1 },
        { seq: 9, trace: 'good', properties: { lastname: 'L' }, attempts: 1 },
      ],
      { firstname: 5 },
    );
    // The same id in another case: handed back by prepareBatch.
    const twin = object('12', [{ seq: 20, trace: 'twin', properties: { firstname: 'T' }, attempts: 1 }]);
    twin.objectKey = objectKeyOf('acct-1', 'contacts', 'external_id', '12');
    const result = plan([obj, twin], [[0, { kind: 'succeeded' }]]);
    expect(done(slotOf(result, obj))).toEqual({
      bad: ['failed', 2, 'VALIDATION_ERROR'],
      fenced: ['superseded', 1, undefined],
      good: ['succeeded', 2, undefined],
    });
    expect(slotOf(result, twin).requeue).toEqual([formatted(twin, 'twin')]);
    expect(result.summary).toEqual({ succeeded: 1, failed: 1, superseded: 1, retrying: 0, requeued: 1 });
  });

  it('fails every update of a failed input, spending an attempt unless no call carried it', () => {
    const charged = threeUpdates('13', 1);
    const uncharged = threeUpdates('14', 1);
    const error = { category: 'OBJECT_NOT_FOUND', message: 'resource not found', httpStatus: 404 };
    const result = plan(
      [charged, uncharged],
      [
        [0, { kind: 'failed', error }],
        [1, { kind: 'failed', error, attempted: false }],
      ],
    );
    expect(Object.values(done(slotOf(result, charged)))).toEqual(
      Array(3).fill(['failed', 2, 'OBJECT_NOT_FOUND']),
    );
    expect(Object.values(done(slotOf(result, uncharged)))).toEqual(
      Array(3).fill(['failed', 1, 'OBJECT_NOT_FOUND']),
    );
    expect(slotOf(result, charged).landed).toEqual({});
    expect(result.summary.failed).toBe(6);
  });

  it('fails only the updates that wrote a poison property, and hands the others back unspent', () => {
    const obj = threeUpdates('15', 1);
    const error = { category: 'VALIDATION_ERROR', message: 'Ada was not a valid name', httpStatus: 400 };
    const result = plan([obj], [[0, { kind: 'poison', error, badProperties: ['firstname'] }]]);
    const slot = slotOf(result, obj);
    expect(done(slot)).toEqual({ '15-a': ['failed', 2, 'VALIDATION_ERROR'] });
    expect(slot.done[0]?.error).toEqual(error);
    // The rider wrote nothing that was sent, so it goes back too.
    expect(slot.requeue.sort()).toEqual([formatted(obj, '15-b'), formatted(obj, '15-r')].sort());
    expect(slot.retry).toEqual([]);
    expect(result.summary).toMatchObject({ failed: 1, requeued: 2 });
  });

  it('fails every update of a poison input when the bad properties name none it wrote', () => {
    const obj = threeUpdates('16');
    const error = { category: 'VALIDATION_ERROR', message: 'invalid', httpStatus: 400 };
    const result = plan([obj], [[0, { kind: 'poison', error, badProperties: [] }]]);
    expect(Object.values(done(slotOf(result, obj)))).toEqual(
      Array(3).fill(['failed', 1, 'VALIDATION_ERROR']),
    );
  });

  it('retries with one backoff for the whole input, spending an attempt when the reason does', () => {
    const spending = object('17', [
      { seq: 1, trace: 's1', properties: { firstname: 'A' }, attempts: 0 },
      { seq: 2, trace: 's2', properties: { lastname: 'B' }, attempts: 1 },
    ]);
    const free = threeUpdates('18', 1);
    const result = plan(
      [spending, free],
      [
        [0, { kind: 'retry', reason: 'server_error', error: serverError }],
        [1, { kind: 'retry', reason: 'connection_refused', error: serverError }],
      ],
    );
    const retry = slotOf(result, spending).retry;
    // The backoff follows the most tried update: s2's second attempt.
    const delay = backoffDelayMs('server_error', 2, { baseMs: 1_000, maxMs: 60_000, random: () => 0 });
    expect(delay).toBe(1_000);
    expect(retry.map((r) => [r.trace, r.entry, r.delayMs])).toEqual([
      ['s1', formatted(spending, 's1', 1), delay],
      ['s2', formatted(spending, 's2', 2), delay],
    ]);
    expect(retry[0]).toMatchObject({ attempts: 1, error: serverError });
    // A refused connection never reached HubSpot: no attempt is spent.
    expect(slotOf(result, free).retry.map((r) => r.entry)).toEqual([
      formatted(free, '18-a'),
      formatted(free, '18-b'),
      formatted(free, '18-r'),
    ]);
    // Neither call may still apply: no fence, no hold.
    expect(slotOf(result, spending)).toMatchObject({ landed: {}, sent: {} });
    expect(slotOf(result, spending).hold).toBeUndefined();
    expect(result.summary).toMatchObject({ retrying: 5, failed: 0 });
  });

  it("waits HubSpot's Retry-After when the reason honours it", () => {
    const obj = threeUpdates('19');
    const result = plan(
      [obj],
      [[0, { kind: 'retry', reason: 'migration_477', error: serverError, retryAfterMs: 3_600_000 }]],
    );
    expect(slotOf(result, obj).retry.map((r) => r.delayMs)).toEqual([3_600_000, 3_600_000, 3_600_000]);
  });

  it('fails the updates whose attempts run out, saying so, and retries the others', () => {
    const obj = object('20', [
      { seq: 1, trace: 'last', properties: { firstname: 'A' }, attempts: 2 },
      { seq: 2, trace: 'early', properties: { lastname: 'B' }, attempts: 0 },
    ]);
    const result = plan([obj], [[0, { kind: 'retry', reason: 'server_error', error: serverError }]]);
    const slot = slotOf(result, obj);
    expect(done(slot)).toEqual({ last: ['failed', 3, 'SERVER_ERROR'] });
    expect(slot.done[0]?.error).toEqual({
      ...serverError,
      message: 'gave up after 3 attempts: HTTP 502 from HubSpot',
    });
    expect(slot.retry.map((r) => r.trace)).toEqual(['early']);
  });

  it('records the tentative fence and holds the object after a call that may still apply', () => {
    const retried = threeUpdates('21');
    const handedBack = threeUpdates('22');
    const result = plan(
      [retried, handedBack],
      [
        [0, { kind: 'retry', reason: 'timeout', error: serverError, ambiguous: true }],
        [1, { kind: 'requeue', reason: 'shutdown', ambiguous: true }],
      ],
    );
    for (const obj of [retried, handedBack]) {
      const slot = slotOf(result, obj);
      expect(slot.sent).toEqual({ firstname: 1, lastname: 3 });
      expect(slot.landed).toEqual({});
      // Until the hold ends only the updates the call carried may be sent for the object.
      expect(slot.hold?.ms).toBe(OPTIONS.holdMs);
      expect([...(slot.hold?.jobs ?? [])].sort()).toEqual(obj.updates.map((u) => u.entry.jobId).sort());
    }
    expect(slotOf(result, handedBack).requeue).toHaveLength(3);
    expect(slotOf(result, retried).retry).toHaveLength(3);
  });

  it('records the tentative fence but no hold when holding is off', () => {
    const obj = threeUpdates('23');
    const result = plan(
      [obj],
      [[0, { kind: 'retry', reason: 'connection_reset', error: serverError, ambiguous: true }]],
      { holdMs: 0 },
    );
    expect(slotOf(result, obj).sent).toEqual({ firstname: 1, lastname: 3 });
    expect(slotOf(result, obj).hold).toBeUndefined();
  });

  it('hands back unspent the updates of an input that has no fate (never sent)', () => {
    const obj = threeUpdates('24', 2);
    const result = plan([obj], []);
    const slot = slotOf(result, obj);
    expect(slot.requeue.sort()).toEqual(['24-a', '24-b', '24-r'].map((t) => formatted(obj, t)).sort());
    expect(slot.done).toEqual([]);
    expect(slot.sent).toEqual({});
    expect(result.summary).toEqual({ succeeded: 0, failed: 0, superseded: 0, retrying: 0, requeued: 3 });
  });

  it('with failUnfinished, fails what would go back to the queue and keeps what the call settled', () => {
    const succeeded = threeUpdates('30', 1);
    const retried = threeUpdates('31', 1);
    const handedBack = threeUpdates('32', 1);
    const poisoned = threeUpdates('33', 1);
    const twin = object('30', [{ seq: 40, trace: 'twin', properties: { firstname: 'T' }, attempts: 1 }]);
    twin.objectKey = objectKeyOf('acct-1', 'contacts', 'external_id', '30');
    const unfinished = { category: 'ACCOUNT_FAILED', message: 'failed by an operator' };
    const poison = { category: 'VALIDATION_ERROR', message: 'bad', httpStatus: 400 };
    const result = plan(
      [succeeded, retried, handedBack, poisoned, twin],
      [
        [0, { kind: 'succeeded' }],
        [1, { kind: 'retry', reason: 'server_error', error: serverError }],
        [2, { kind: 'requeue', reason: 'rate_limited' }],
        [3, { kind: 'poison', error: poison, badProperties: ['lastname'] }],
      ],
      { failUnfinished: unfinished },
    );
    expect(done(slotOf(result, succeeded))).toEqual({
      '30-a': ['succeeded', 2, undefined],
      '30-b': ['succeeded', 2, undefined],
      '30-r': ['superseded', 2, undefined],
    });
    // A retry would have spent its attempt; a hand-back would not have.
    expect(Object.values(done(slotOf(result, retried)))).toEqual(
      Array(3).fill(['failed', 2, 'ACCOUNT_FAILED']),
    );
    expect(Object.values(done(slotOf(result, handedBack)))).toEqual(
      Array(3).fill(['failed', 1, 'ACCOUNT_FAILED']),
    );
    expect(done(slotOf(result, poisoned))).toEqual({
      '33-b': ['failed', 2, 'VALIDATION_ERROR'],
      '33-a': ['failed', 1, 'ACCOUNT_FAILED'],
      '33-r': ['failed', 1, 'ACCOUNT_FAILED'],
    });
    expect(done(slotOf(result, twin))).toEqual({ twin: ['failed', 1, 'ACCOUNT_FAILED'] });
    for (const obj of [succeeded, retried, handedBack, poisoned, twin]) {
      expect(slotOf(result, obj).retry).toEqual([]);
      expect(slotOf(result, obj).requeue).toEqual([]);
    }
    expect(result.summary).toEqual({ succeeded: 2, failed: 10, superseded: 1, retrying: 0, requeued: 0 });
  });
});

describe('lanes in the settle plan', () => {
  it('keeps the interactive mark on retried and handed-back entries, and names the lane in outcome facts', () => {
    const lanes = (obj: ClaimedObject): ClaimedObject => ({
      ...obj,
      updates: obj.updates.map((u, i) => (i === 1 ? { ...u, entry: { ...u.entry, interactive: true } } : u)),
    });
    const retried = lanes(threeUpdates('201'));
    const error = { category: 'SERVER_ERROR', message: 'boom' };
    const retry = plan([retried], [[0, { kind: 'retry', reason: 'server_error', error }]]).plan.objects[0];
    const byTrace = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(retry?.retry.map((r) => [r.trace, r.entry, r.priority]).sort(byTrace)).toEqual([
      ['201-a', '1:5001:1i:t-201-a', 'interactive'],
      ['201-b', '3:5003:1:t-201-b', undefined],
      ['201-r', '0:5000:1:t-201-r', undefined],
    ]);

    const handedBack = lanes(threeUpdates('202'));
    const requeue = plan([handedBack], [[0, { kind: 'requeue', reason: 'rate_limited' }]]).plan.objects[0];
    expect(requeue?.requeue.slice().sort()).toEqual([
      '0:5000:0:t-202-r',
      '1:5001:0i:t-202-a',
      '3:5003:0:t-202-b',
    ]);

    const done = plan([lanes(threeUpdates('203'))], [[0, { kind: 'succeeded' }]]).plan.objects[0];
    expect(done?.done.map((d) => [d.trace, d.priority]).sort(byTrace)).toEqual([
      ['203-a', 'interactive'],
      ['203-b', undefined],
      ['203-r', undefined],
    ]);
  });
});
