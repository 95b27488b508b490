import { describe, expect, it } from 'vitest';
import { objectKeyOf } from '../../src/keys.js';
import { buildSettlePlan } from '../../src/worker/plan.js';
import { prepareBatch } from '../../src/worker/prepare.js';
import type { InputFate } from '../../src/worker/send.js';
import type { ClaimedObject } from '../../src/worker/store-types.js';

const GROUP = 'default|contacts';

let seq = 0;
/** A claimed object with one update per property set, in enqueue order. */
function claimed(id: string, idProperty: string | undefined, ...updates: Array<Record<string, string>>) {
  const object: ClaimedObject = {
    objectKey: objectKeyOf('default', 'contacts', idProperty, id),
    updates: updates.map((properties) => {
      seq += 1;
      const trace = `t${seq}`;
      return {
        entry: { seq, enqueuedAt: 1_000 + seq, attempts: 2, jobId: `t-${trace}` },
        data: JSON.stringify({
          objectType: 'contacts',
          id,
          ...(idProperty ? { idProperty } : {}),
          properties,
          objectWriteTraceId: trace,
        }),
      };
    }),
    landed: {},
  };
  return object;
}

const planOptions = {
  maxAttempts: 10,
  backoffBaseMs: 100,
  backoffMaxMs: 1_000,
  windowMs: 10_000,
  holdMs: 60_000,
};

describe('prepareBatch: one id string, two addresses', () => {
  it('keeps the first object with an id string and hands the later one back', () => {
    const byRecordId = claimed('1005', undefined, { firstname: 'A' });
    const byExternalId = claimed('1005', 'external_id', { firstname: 'B' }, { lastname: 'C' });
    const other = claimed('1006', undefined, { firstname: 'D' });
    const batch = prepareBatch(GROUP, [byRecordId, byExternalId, other]);
    expect(batch.inputs.map((p) => [p.input.id, p.input.idProperty])).toEqual([
      ['1005', undefined],
      ['1006', undefined],
    ]);
    expect(batch.early.map((d) => [d.status, d.member.trace, d.member.objectKey])).toEqual([
      ['requeue', 't2', byExternalId.objectKey],
      ['requeue', 't3', byExternalId.objectKey],
    ]);
    expect(batch.merged).toBe(0);
  });

  it('compares ids case-insensitively, as HubSpot echoes emails in another case', () => {
    const a = claimed('Ada@X.com', 'email', { firstname: 'A' });
    const b = claimed('ada@x.com', 'email', { firstname: 'B' });
    const batch = prepareBatch(GROUP, [a, b]);
    expect(batch.inputs.map((p) => p.input.id)).toEqual(['Ada@X.com']);
    expect(batch.early.map((d) => d.status)).toEqual(['requeue']);
  });

  it('the settle plan hands the later object back without spending an attempt, and settles the first', () => {
    const first = claimed('2005', undefined, { firstname: 'A' });
    const later = claimed('2005', 'external_id', { firstname: 'B' });
    const batch = prepareBatch(GROUP, [first, later]);
    const fates = new Map<number, InputFate>([[0, { kind: 'succeeded', hubspotObjectId: '2005' }]]);
    const { plan, summary } = buildSettlePlan([first, later], batch, fates, planOptions);
    expect(summary).toMatchObject({ succeeded: 1, requeued: 1, failed: 0, retrying: 0 });
    const [firstSlot, laterSlot] = plan.objects;
    expect(firstSlot?.done.map((d) => d.status)).toEqual(['succeeded']);
    expect(laterSlot?.done).toEqual([]);
    expect(laterSlot?.retry).toEqual([]);
    // The entry goes back exactly as claimed: same sequence, same attempt count.
    const entry = later.updates[0]?.entry;
    expect(laterSlot?.requeue).toEqual([`${entry?.seq}:${entry?.enqueuedAt}:2:${entry?.jobId}`]);
  });

  it('still decides superseded and invalid updates of the handed-back object', () => {
    const first = claimed('3005', undefined, { firstname: 'A' });
    const later = claimed('3005', 'external_id', { firstname: 'B' });
    later.landed = { firstname: Number.MAX_SAFE_INTEGER };
    later.updates.push({
      entry: { seq: 999, enqueuedAt: 1, attempts: 0, jobId: 'bad' },
      data: 'not json',
    });
    const batch = prepareBatch(GROUP, [first, later]);
    expect(batch.early.map((d) => d.status).sort()).toEqual(['failed', 'superseded']);
    expect(batch.inputs).toHaveLength(1);
  });
});
