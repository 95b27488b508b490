import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Update } from '../../src/update.js';
import { mergeObjectUpdates, type SequencedUpdate } from '../../src/worker/merge.js';

const PROPS = ['firstname', 'lastname', 'city', 'age'] as const;

const updateArb = fc.record({
  properties: fc.dictionary(
    fc.constantFrom(...PROPS),
    fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.constant(null)),
    {
      minKeys: 1,
    },
  ),
});

/** Updates with distinct, increasing sequence numbers (enqueue order), in a shuffled delivery order. */
const updatesArb = fc.array(updateArb, { minLength: 1, maxLength: 12 }).map((list) =>
  list.map(
    (u, i): SequencedUpdate => ({
      seq: (i + 1) * 10,
      update: {
        objectType: 'contacts',
        id: '1',
        account: 'default',
        objectWriteTraceId: `t${i}`,
        properties: u.properties,
      } as Update,
    }),
  ),
);

/** Per property, the sequence number of a value that has already landed. */
const landedArb = fc.dictionary(fc.constantFrom(...PROPS), fc.integer({ min: 0, max: 130 }));

const str = (v: unknown) => (v === null ? '' : String(v));

describe('mergeObjectUpdates', () => {
  it('writes, per property, the value of the newest update not fenced off by a landed value', () => {
    fc.assert(
      fc.property(updatesArb, landedArb, (updates, landed) => {
        const merge = mergeObjectUpdates([...updates].reverse(), landed);
        const expected: Record<string, string> = {};
        for (const u of [...updates].sort((a, b) => a.seq - b.seq)) {
          for (const [p, v] of Object.entries(u.update.properties)) {
            if ((landed[p] ?? -1) < u.seq) expected[p] = str(v);
          }
        }
        expect(merge.input?.properties ?? {}).toEqual(expected);
      }),
    );
  });

  it('puts every update in exactly one role, and the input carries a contributor trace id', () => {
    fc.assert(
      fc.property(updatesArb, landedArb, (updates, landed) => {
        const merge = mergeObjectUpdates(updates, landed);
        const roles = [...merge.contributors.keys(), ...merge.riders, ...merge.fenced];
        expect([...roles].sort()).toEqual(updates.map((u) => u.update.objectWriteTraceId).sort());
        if (merge.input) expect(merge.contributors.has(merge.input.objectWriteTraceId)).toBe(true);
        for (const trace of merge.fenced) {
          const u = updates.find((x) => x.update.objectWriteTraceId === trace);
          for (const p of Object.keys(u?.update.properties ?? {}))
            expect(landed[p] ?? -1).toBeGreaterThanOrEqual(u?.seq ?? 0);
        }
      }),
    );
  });

  it('converges to the last enqueued values whatever order batches are delivered and retried in (fencing)', () => {
    fc.assert(
      fc.property(
        updatesArb,
        fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        fc.array(fc.nat(), { minLength: 24, maxLength: 24 }),
        (updates, groupOf, order) => {
          // Split the updates into batches, deliver the batches in a random order, and deliver some twice
          // (a retry after an ambiguous failure): the fence must keep every stale value out.
          const groups = new Map<number, SequencedUpdate[]>();
          updates.forEach((u, i) => {
            const g = (groupOf[i] ?? 0) % 4;
            groups.set(g, [...(groups.get(g) ?? []), u]);
          });
          const batches = [...groups.values()];
          const deliveries = order.map((n) => batches[n % batches.length] as SequencedUpdate[]);
          deliveries.push(...batches);
          const state: Record<string, string> = {};
          const landed: Record<string, number> = {};
          for (const batch of deliveries) {
            const merge = mergeObjectUpdates(batch, landed);
            if (!merge.input) continue;
            Object.assign(state, merge.input.properties);
            for (const [p, seq] of Object.entries(merge.sequences))
              landed[p] = Math.max(landed[p] ?? -1, seq);
          }
          const expected: Record<string, string> = {};
          for (const u of updates)
            for (const [p, v] of Object.entries(u.update.properties)) expected[p] = str(v);
          expect(state).toEqual(expected);
        },
      ),
    );
  });

  it('makes an update fully overridden in the same merge a rider, not a contributor', () => {
    const mk = (seq: number, trace: string, properties: Update['properties']): SequencedUpdate => ({
      seq,
      update: { objectType: 'contacts', id: '1', account: 'default', objectWriteTraceId: trace, properties },
    });
    const merge = mergeObjectUpdates([mk(2, 'b', { firstname: 'B' }), mk(1, 'a', { firstname: 'A' })], {});
    expect(merge.input).toEqual({ id: '1', properties: { firstname: 'B' }, objectWriteTraceId: 'b' });
    expect(merge.riders).toEqual(['a']);
    expect(merge.fenced).toEqual([]);
  });
});

describe('tentative fences of calls that may have applied', () => {
  const u = (seq: number, properties: Record<string, string>): SequencedUpdate => ({
    seq,
    update: {
      objectType: 'contacts',
      id: '1',
      account: 'default',
      objectWriteTraceId: `t${seq}`,
      properties,
    } as Update,
  });

  it('never writes a value older than one a call that may have applied carried; that value itself may go again', () => {
    // A call carrying firstname at seq 20 timed out: its retry (seq 20) may go, the older rider (seq 10) not.
    const sent = { '~firstname': 20 };
    const alone = mergeObjectUpdates([u(10, { firstname: 'old' })], sent);
    expect(alone.input).toBeUndefined();
    // Not superseded: the value at seq 20 may never land. It waits for that value to be decided.
    expect(alone.fenced).toEqual([]);
    expect(alone.waiting).toEqual([{ trace: 't10', properties: ['firstname'] }]);
    const riding = mergeObjectUpdates([u(10, { firstname: 'old' }), u(20, { firstname: 'new' })], sent);
    expect(riding.riders).toEqual(['t10']);
    expect(riding.waiting).toEqual([]);
    expect(mergeObjectUpdates([u(10, { firstname: 'old' })], { ...sent, firstname: 20 }).fenced).toEqual([
      't10',
    ]);
    const retry = mergeObjectUpdates(
      [u(10, { firstname: 'old', lastname: 'x' }), u(20, { firstname: 'new' })],
      sent,
    );
    expect(retry.input?.properties).toEqual({ firstname: 'new', lastname: 'x' });
    const newer = mergeObjectUpdates([u(30, { firstname: 'newest' })], sent);
    expect(newer.input?.properties).toEqual({ firstname: 'newest' });
    // A landed value fences its own sequence too; a tentative one only older ones.
    expect(mergeObjectUpdates([u(20, { firstname: 'new' })], { firstname: 20 }).input).toBeUndefined();
    expect(mergeObjectUpdates([u(20, { firstname: 'new' })], sent).input?.properties).toEqual({
      firstname: 'new',
    });
  });
});
