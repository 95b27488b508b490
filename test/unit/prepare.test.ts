import { describe, expect, it } from 'vitest';
import { definitionMap, validateProperties } from '../../src/hubspot/properties.js';
import { objectKeyOf } from '../../src/keys.js';
import { fingerprintOfJobData } from '../../src/update.js';
import { type EarlyDecision, type PreparedBatch, prepareBatch } from '../../src/worker/prepare.js';
import type { ClaimedObject } from '../../src/worker/store-types.js';

const GROUP = 'acct-1|contacts';

interface UpdateSpec {
  seq: number;
  trace: string;
  properties?: Record<string, unknown>;
  attempts?: number;
  reclaims?: number;
  /** Replaces the job data entirely (invalid data). */
  data?: string;
  /** Extra or overridden fields of the job data. */
  fields?: Record<string, unknown>;
}

/** A claimed object of the group `acct-1|contacts` with the given updates. */
function object(
  id: string,
  updates: UpdateSpec[],
  options: { idProperty?: string; landed?: Record<string, number> } = {},
): ClaimedObject {
  const { idProperty } = options;
  return {
    objectKey: objectKeyOf('acct-1', 'contacts', idProperty, id),
    updates: updates.map((u) => ({
      entry: { seq: u.seq, enqueuedAt: 1_000 + u.seq, attempts: u.attempts ?? 0, jobId: `t-${u.trace}` },
      data:
        u.data ??
        JSON.stringify({
          objectType: 'contacts',
          id,
          ...(idProperty ? { idProperty } : {}),
          properties: u.properties ?? { firstname: u.trace },
          objectWriteTraceId: u.trace,
          ...u.fields,
        }),
      ...(u.reclaims !== undefined ? { reclaims: u.reclaims } : {}),
    })),
    landed: options.landed ?? {},
  };
}

function failure(batch: PreparedBatch, trace: string): Extract<EarlyDecision, { status: 'failed' }> {
  const decision = batch.early.find((d) => d.member.trace === trace);
  if (decision?.status !== 'failed')
    throw new Error(`expected ${trace} to fail early, got ${decision?.status}`);
  return decision;
}

describe('prepareBatch: merging the updates of one object', () => {
  it('merges several updates into one input, the newest value of each property winning', () => {
    const obj = object('101', [
      { seq: 3, trace: 'c', properties: { lastname: 'Lovelace', phone: '3' } },
      { seq: 1, trace: 'a', properties: { firstname: 'Ada', phone: '1' } },
      { seq: 2, trace: 'b', properties: { phone: '2', company: 'Engines' } },
    ]);
    const batch = prepareBatch(GROUP, [obj]);
    expect(batch).toMatchObject({ account: 'acct-1', objectType: 'contacts', group: GROUP, early: [] });
    expect(batch.inputs).toHaveLength(1);
    const [prepared] = batch.inputs;
    expect(prepared?.input).toEqual({
      id: '101',
      properties: { firstname: 'Ada', phone: '3', company: 'Engines', lastname: 'Lovelace' },
      // The input carries the newest contributing update's trace id.
      objectWriteTraceId: 'c',
    });
    expect(prepared?.objectKey).toBe(obj.objectKey);
    expect(prepared?.sequences).toEqual({ firstname: 1, phone: 3, company: 2, lastname: 3 });
    const wins = Object.fromEntries(prepared?.members.map((m) => [m.trace, [...m.wins].sort()]) ?? []);
    expect(wins).toEqual({ a: ['firstname'], b: ['company'], c: ['lastname', 'phone'] });
    // Two updates rode on the input of a third.
    expect(batch.merged).toBe(2);
  });

  it('keeps an update whose every value is overridden in the same input as a rider that wins nothing', () => {
    const obj = object('102', [
      { seq: 1, trace: 'old', properties: { firstname: 'A' } },
      { seq: 2, trace: 'new', properties: { firstname: 'B', lastname: 'C' } },
    ]);
    const batch = prepareBatch(GROUP, [obj]);
    const members = batch.inputs[0]?.members.map((m) => [m.trace, m.wins]);
    expect(members).toEqual([
      ['new', ['firstname', 'lastname']],
      ['old', []],
    ]);
    expect(batch.inputs[0]?.input.properties).toEqual({ firstname: 'B', lastname: 'C' });
    expect(batch.early).toEqual([]);
    expect(batch.merged).toBe(1);
  });

  it('supersedes right away the updates every property of which was overtaken by a value that landed', () => {
    const obj = object(
      '103',
      [
        { seq: 4, trace: 'stale', properties: { firstname: 'old' } },
        { seq: 6, trace: 'fresh', properties: { firstname: 'new', lastname: 'L' } },
      ],
      { landed: { firstname: 5 } },
    );
    const batch = prepareBatch(GROUP, [obj]);
    expect(batch.early.map((d) => [d.status, d.member.trace])).toEqual([['superseded', 'stale']]);
    expect(batch.inputs[0]?.members.map((m) => m.trace)).toEqual(['fresh']);
    expect(batch.merged).toBe(0);
  });

  it('sends no input for an object whose every update is fenced off', () => {
    const obj = object('104', [{ seq: 2, trace: 'x', properties: { firstname: 'A' } }], {
      landed: { firstname: 9 },
    });
    const batch = prepareBatch(GROUP, [obj]);
    expect(batch.inputs).toEqual([]);
    expect(batch.early.map((d) => [d.status, d.member.trace])).toEqual([['superseded', 'x']]);
  });

  it('sends every value as the string HubSpot takes: numbers in plain decimals, null as an empty string', () => {
    const obj = object('105', [
      { seq: 1, trace: 'v', properties: { amount: 1e21, tiny: 1e-7, flag: true, cleared: null } },
    ]);
    const batch = prepareBatch(GROUP, [obj]);
    expect(batch.inputs[0]?.input.properties).toEqual({
      amount: '1000000000000000000000',
      tiny: '0.0000001',
      flag: 'true',
      cleared: '',
    });
  });

  it('keeps on each member the parsed update, with the account of the group when the data names none', () => {
    const obj = object('106', [{ seq: 1, trace: 'm' }]);
    const batch = prepareBatch(GROUP, [obj]);
    const member = batch.inputs[0]?.members[0];
    expect(member?.update).toMatchObject({ id: '106', account: 'acct-1', objectWriteTraceId: 'm' });
    expect(member?.group).toBe(GROUP);
    expect(member?.fingerprint).toBe(fingerprintOfJobData(obj.updates[0]?.data ?? '', 'm'));
  });

  it('takes the trace id from the job id when the data names none', () => {
    const obj = object('107', [{ seq: 1, trace: 'from-job', fields: { objectWriteTraceId: undefined } }]);
    const batch = prepareBatch(GROUP, [obj]);
    expect(batch.inputs[0]?.input.objectWriteTraceId).toBe('from-job');
    expect(batch.inputs[0]?.members[0]?.trace).toBe('from-job');
  });
});

describe('prepareBatch: idProperty', () => {
  it('sends the id property with the id when the update addresses the object by a unique property', () => {
    const obj = object(
      'ada@example.com',
      [
        { seq: 1, trace: 'e1', properties: { firstname: 'Ada' } },
        { seq: 2, trace: 'e2', properties: { lastname: 'Lovelace' } },
      ],
      { idProperty: 'email' },
    );
    const batch = prepareBatch(GROUP, [obj]);
    expect(batch.inputs[0]?.input).toEqual({
      id: 'ada@example.com',
      idProperty: 'email',
      properties: { firstname: 'Ada', lastname: 'Lovelace' },
      objectWriteTraceId: 'e2',
    });
  });

  it('leaves idProperty out of the input of an update addressed by record id', () => {
    const batch = prepareBatch(GROUP, [object('108', [{ seq: 1, trace: 'r' }])]);
    expect(batch.inputs[0]?.input).not.toHaveProperty('idProperty');
  });

  it('fails an update whose idProperty is not a property name, naming the field', () => {
    const obj = object('109', [{ seq: 1, trace: 'bad-idp', fields: { idProperty: 'e-mail' } }]);
    const batch = prepareBatch(GROUP, [obj]);
    expect(batch.inputs).toEqual([]);
    const { error } = failure(batch, 'bad-idp');
    expect(error.category).toBe('VALIDATION_ERROR');
    expect(error.message).toMatch(/^invalid update: idProperty: must be a property name/);
  });
});

describe('prepareBatch: invalid job data fails early', () => {
  it('fails data that is not JSON, and still sends the valid updates of the same object', () => {
    const obj = object('110', [
      { seq: 1, trace: 'broken', data: '{"objectType":' },
      { seq: 2, trace: 'fine', properties: { firstname: 'F' } },
    ]);
    const batch = prepareBatch(GROUP, [obj]);
    expect(failure(batch, 'broken').error).toEqual({
      category: 'VALIDATION_ERROR',
      message: 'invalid update: job data is not valid JSON',
    });
    // The trace id of unreadable data comes from its job id.
    expect(failure(batch, 'broken').member.update).toBeUndefined();
    expect(batch.inputs[0]?.members.map((m) => m.trace)).toEqual(['fine']);
  });

  it('names the field of every problem', () => {
    const obj = object('111', [
      { seq: 1, trace: 'no-id', fields: { id: undefined } },
      { seq: 2, trace: 'bad-value', properties: { firstname: { nested: true } } },
      { seq: 3, trace: 'bad-name', properties: { 'first name': 'x' } },
      { seq: 4, trace: 'no-props', properties: {} },
      { seq: 5, trace: 'extra', fields: { priority: 1 } },
      { seq: 6, trace: 'bad-type', fields: { objectType: '../owners' } },
    ]);
    const batch = prepareBatch(GROUP, [obj]);
    expect(batch.inputs).toEqual([]);
    expect(batch.early.every((d) => d.status === 'failed')).toBe(true);
    const message = (trace: string) => failure(batch, trace).error.message;
    expect(message('no-id')).toMatch(/^invalid update: id: /);
    expect(message('bad-value')).toMatch(/^invalid update: properties\.firstname: /);
    expect(message('bad-name')).toContain('property name "first name" must be a property name');
    expect(message('no-props')).toContain('must name at least one property');
    expect(message('extra')).toContain('priority');
    expect(message('bad-type')).toMatch(/^invalid update: objectType: must be an object type name/);
  });

  it('applies the configured limits', () => {
    const obj = object('112', [
      { seq: 1, trace: 'long', properties: { notes: 'x'.repeat(11) } },
      { seq: 2, trace: 'many', properties: { a: '1', b: '2', c: '3' } },
      { seq: 3, trace: 'ok', properties: { a: 'x'.repeat(10) } },
    ]);
    const batch = prepareBatch(GROUP, [obj], undefined, { limits: { maxValueLength: 10, maxProperties: 2 } });
    expect(failure(batch, 'long').error.message).toBe(
      'invalid update: properties.notes: must be at most 10 characters long',
    );
    expect(failure(batch, 'many').error.message).toBe(
      'invalid update: properties: must name at most 2 properties (names 3)',
    );
    expect(batch.inputs[0]?.members.map((m) => m.trace)).toEqual(['ok']);
  });

  it("fails the values the schema validator rejects with HubSpot's codes, and sends the others", () => {
    const validator = (properties: Record<string, string>) =>
      properties.lifecyclestage === 'nope'
        ? [
            {
              name: 'lifecyclestage',
              code: 'INVALID_OPTION',
              message: 'nope was not one of the allowed options',
            },
          ]
        : [];
    const obj = object('113', [
      { seq: 1, trace: 'rejected', properties: { lifecyclestage: 'nope' } },
      { seq: 2, trace: 'accepted', properties: { lifecyclestage: 'lead' } },
    ]);
    const batch = prepareBatch(GROUP, [obj], validator);
    expect(failure(batch, 'rejected').error).toEqual({
      category: 'VALIDATION_ERROR',
      message: 'nope was not one of the allowed options (INVALID_OPTION)',
    });
    // The member of a valid-but-rejected update keeps its parsed update.
    expect(failure(batch, 'rejected').member.update?.properties).toEqual({ lifecyclestage: 'nope' });
    expect(batch.inputs[0]?.input.properties).toEqual({ lifecyclestage: 'lead' });
  });

  it('gives the validator every value as a string, null as an empty one', () => {
    const seen: Array<Record<string, string>> = [];
    const obj = object('114', [{ seq: 1, trace: 'strs', properties: { flag: false, cleared: null, n: 42 } }]);
    prepareBatch(GROUP, [obj], (properties) => {
      seen.push(properties);
      return [];
    });
    expect(seen).toEqual([{ flag: 'false', cleared: '', n: '42' }]);
  });

  // A number JavaScript writes in exponent form (1e21, 1e-7) is sent in plain decimals, which HubSpot accepts: the
  // schema check must judge that form, not "1e+21".
  it('validates a number as the plain decimal it is sent as, not in exponent form', () => {
    const defs = definitionMap([{ name: 'amount', type: 'number' }]);
    const obj = object('115', [{ seq: 1, trace: 'big', properties: { amount: 1e21 } }]);
    const batch = prepareBatch(GROUP, [obj], (properties) => validateProperties(defs, properties));
    expect(batch.early).toEqual([]);
    expect(batch.inputs[0]?.input.properties).toEqual({ amount: '1000000000000000000000' });
  });
});

describe('prepareBatch: ids shared in one batch', () => {
  it('hands back every update of a later object whose id differs from an earlier one only in case', () => {
    const first = object('Ada@Example.com', [{ seq: 1, trace: 'f1' }], { idProperty: 'email' });
    const later = object(
      'ada@example.COM',
      [
        { seq: 2, trace: 'l1', properties: { firstname: 'X' } },
        { seq: 3, trace: 'l2', properties: { firstname: 'Y' } },
      ],
      { idProperty: 'email' },
    );
    const third = object('other@example.com', [{ seq: 4, trace: 'o1' }], { idProperty: 'email' });
    const batch = prepareBatch(GROUP, [first, later, third]);
    expect(batch.inputs.map((p) => p.input.id)).toEqual(['Ada@Example.com', 'other@example.com']);
    // The contributor and its rider both go back, not spent, with the reason.
    expect(
      batch.early.map((d) => [d.status, d.member.trace, d.status === 'requeue' ? d.reason : '']),
    ).toEqual([
      ['requeue', 'l2', 'id shared in batch'],
      ['requeue', 'l1', 'id shared in batch'],
    ]);
    // A handed-back object's merge does not count.
    expect(batch.merged).toBe(0);
  });

  it('does not reserve the id of an object that sends nothing', () => {
    const invalid = object('120', [{ seq: 1, trace: 'bad', data: 'not json' }]);
    const fenced = object('121', [{ seq: 2, trace: 'old', properties: { firstname: 'A' } }], {
      landed: { firstname: 5 },
    });
    const byId = object('120', [{ seq: 3, trace: 'good-120' }], { idProperty: 'external_id' });
    const byOther = object('121', [{ seq: 4, trace: 'good-121' }], { idProperty: 'external_id' });
    const batch = prepareBatch(GROUP, [invalid, fenced, byId, byOther]);
    expect(batch.inputs.map((p) => p.input.objectWriteTraceId)).toEqual(['good-120', 'good-121']);
    expect(batch.early.map((d) => d.status).sort()).toEqual(['failed', 'superseded']);
  });
});

describe('prepareBatch: maxAttempts', () => {
  it('fails an update that comes back with its attempts spent, before reading its data', () => {
    const obj = object('130', [
      { seq: 1, trace: 'spent', attempts: 5 },
      { seq: 2, trace: 'spent-invalid', attempts: 6, data: 'not json' },
      { seq: 3, trace: 'one-left', attempts: 4, properties: { lastname: 'L' } },
    ]);
    const batch = prepareBatch(GROUP, [obj], undefined, { maxAttempts: 5 });
    for (const [trace, attempts] of [
      ['spent', 5],
      ['spent-invalid', 6],
    ] as const) {
      const { error, member } = failure(batch, trace);
      expect(error.category).toBe('LEASE_EXPIRED');
      expect(error.message).toMatch(new RegExp(`^gave up after ${attempts} attempts: `));
      expect(member.update).toBeUndefined();
    }
    expect(batch.inputs[0]?.members.map((m) => m.trace)).toEqual(['one-left']);
  });

  it('fails an update taken back from dead workers as often as it may be attempted', () => {
    const obj = object('131', [
      { seq: 1, trace: 'reclaimed', reclaims: 3 },
      { seq: 2, trace: 'reclaimed-less', reclaims: 2, properties: { lastname: 'L' } },
    ]);
    const batch = prepareBatch(GROUP, [obj], undefined, { maxAttempts: 3 });
    const { error } = failure(batch, 'reclaimed');
    expect(error).toEqual({
      category: 'LEASE_EXPIRED',
      message:
        'gave up after its batch was taken back 3 times before any HubSpot call: the workers holding it kept stopping',
    });
    expect(batch.inputs[0]?.members.map((m) => m.trace)).toEqual(['reclaimed-less']);
  });

  it('lets any number of attempts through when no maximum is given', () => {
    const obj = object('132', [{ seq: 1, trace: 'many', attempts: 1_000, reclaims: 1_000 }]);
    const batch = prepareBatch(GROUP, [obj]);
    expect(batch.early).toEqual([]);
    expect(batch.inputs).toHaveLength(1);
  });
});
