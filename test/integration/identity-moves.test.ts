import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/outcomes/outcome.js';
import type { UpdateRequest } from '../../src/update.js';
import {
  type IdentityType,
  identityWorkload,
  lastValues,
  seedIdentity,
  staleOf,
} from '../helpers/identity.js';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker, waitFor } from '../helpers/pipeline.js';

const CONTACTS: IdentityType = {
  objectType: 'contacts',
  records: 200,
  uniques: { email: (n) => `contact${n}@example.com` },
  properties: {
    firstname: (r) => `First${Math.floor(r() * 1e6)}`,
    lastname: (r) => `Last${Math.floor(r() * 1e6)}`,
    city: (r) => `City${Math.floor(r() * 1e6)}`,
  },
};

const LOSER = '100005';
const WINNER = '100007';
const LOSER_EMAIL = 'contact5@example.com';

/** Background updates with updates to the loser (by email and id) and the winner woven in every few places. */
function phase(seed: number, prefix: string, count: number, withLoserId: boolean) {
  const w = identityWorkload([CONTACTS], { count, byUniqueShare: 0.3, seed, traceIdPrefix: prefix });
  const updates: UpdateRequest[] = [];
  const record: string[] = [];
  const kinds: string[] = [];
  let k = 0;
  w.updates.forEach((u, i) => {
    if (w.record[i] !== `contacts|${LOSER}` && w.record[i] !== `contacts|${WINNER}`) {
      updates.push(u);
      record.push(w.record[i] as string);
      kinds.push('background');
    }
    if (i % 10 !== 0) return;
    const value = `${prefix}-${i}`;
    const kind = ['loserEmail', 'winnerId', withLoserId ? 'loserId' : 'winnerEmail'][k++ % 3] as string;
    const address =
      kind === 'loserEmail'
        ? { id: LOSER_EMAIL.toUpperCase(), idProperty: 'email' }
        : kind === 'loserId'
          ? { id: LOSER }
          : kind === 'winnerEmail'
            ? { id: 'contact7@example.com', idProperty: 'email' }
            : { id: WINNER };
    const name = (['firstname', 'lastname', 'city'] as const)[k % 3] as string;
    updates.push({
      objectType: 'contacts',
      ...address,
      properties: { [name]: value },
      objectWriteTraceId: `${prefix}-x${i}`,
    });
    record.push(kind === 'loserEmail' || kind === 'loserId' ? `contacts|${LOSER}` : `contacts|${WINNER}`);
    kinds.push(kind);
  });
  return { updates, record, kinds };
}

describe('records that move: merges, email changes, missing records', () => {
  it('a contact merged mid-drain: no update lost, the survivor ends at the last enqueued values', async () => {
    const sim = await testSimulator();
    seedIdentity(sim, [CONTACTS]);
    const queue = testQueue('identity-merge');
    const producer = testProducer(queue);
    await testWorker(queue, sim);
    await testWorker(queue, sim);

    const before = phase(1, 'before', 1000, true);
    const ids1 = (await producer.enqueueMany(before.updates)).map((r) => r.objectWriteTraceId);
    const firstByEmail = before.kinds.indexOf('loserEmail');
    await producer.waitForOutcomes([ids1[firstByEmail] as string]);
    sim.mergeRecords(TOKEN, 'contacts', LOSER, WINNER);
    const after = phase(2, 'after', 600, false);
    const ids2 = (await producer.enqueueMany(after.updates)).map((r) => r.objectWriteTraceId);
    const outcomes1 = await producer.waitForOutcomes(ids1, { timeoutMs: 30_000 });
    const outcomes2 = await producer.waitForOutcomes(ids2, { timeoutMs: 30_000 });

    const problems: string[] = [];
    const check = (kinds: string[], outcomes: Outcome[], late: boolean) =>
      outcomes.forEach((o, i) => {
        const kind = kinds[i];
        if (!['succeeded', 'superseded', 'failed'].includes(o.status))
          problems.push(`${kind} ${i}: ${o.status}`);
        // Updates by the loser's email always land somewhere: on the loser before the merge, on the winner after.
        if (kind === 'loserEmail' && o.status === 'failed') problems.push(`loserEmail ${i} failed`);
        if (late && kind === 'loserEmail' && o.status === 'succeeded' && o.hubspotObjectId !== WINNER)
          problems.push(`loserEmail ${i} landed on ${o.hubspotObjectId}`);
        if (kind === 'background' && o.status === 'failed') problems.push(`background ${i} failed`);
        if (kind === 'loserId' && o.status === 'failed' && o.error?.category !== 'OBJECT_NOT_FOUND')
          problems.push(`loserId ${i}: ${o.error?.category}`);
      });
    check(before.kinds, outcomes1, false);
    check(after.kinds, outcomes2, true);
    expect(problems).toEqual([]);
    const landed = outcomes1.filter(
      (o, i) => before.kinds[i] === 'loserEmail' && o.hubspotObjectId === WINNER,
    );
    console.info(
      `merge: ${outcomes1.length + outcomes2.length} updates, ${landed.length} of the loser's email updates ` +
        `enqueued before the merge landed on the winner; ${sim.calls().filter((c) => c.endpoint === 'batchRead').length} reads`,
    );

    // The survivor holds, per property, the last value enqueued for it by any of its addresses after the merge.
    const survivor = new Map<string, Record<string, string>>();
    after.updates.forEach((u, i) => {
      if (after.record[i] !== `contacts|${WINNER}` && after.kinds[i] !== 'loserEmail') return;
      survivor.set(`contacts|${WINNER}`, {
        ...survivor.get(`contacts|${WINNER}`),
        ...(u.properties as Record<string, string>),
      });
    });
    expect(staleOf(sim, survivor)).toEqual([]);
    expect(sim.getObject(TOKEN, 'contacts', LOSER)).toBeUndefined();
    // Everything else ends at its last enqueued value too.
    const all = [...before.updates, ...after.updates];
    const records = [...before.record, ...after.record];
    const kinds = [...before.kinds, ...after.kinds];
    const others = lastValues(
      all.filter((_, i) => kinds[i] === 'background'),
      records.filter((_, i) => kinds[i] === 'background'),
    );
    expect(staleOf(sim, others)).toEqual([]);
  });

  it("a merge while the loser's email and id updates wait in the queue: email ones land on the winner, id ones fail", async () => {
    const sim = await testSimulator();
    seedIdentity(sim, [CONTACTS]);
    const queue = testQueue('identity-merge-pending');
    const producer = testProducer(queue);
    await testWorker(queue, sim, { authPauseMs: 100 });
    await testWorker(queue, sim, { authPauseMs: 100 });
    // The loser's email is known to name the loser: the updates below go to it through the cached mapping.
    const [first] = await producer.enqueueMany([
      { objectType: 'contacts', id: LOSER_EMAIL, idProperty: 'email', properties: { city: 'before' } },
    ]);
    expect(await producer.waitForOutcomes([first?.objectWriteTraceId as string])).toMatchObject([
      { status: 'succeeded', hubspotObjectId: LOSER },
    ]);
    // HubSpot refuses the credentials for a while: the backlog is taken in and routed, but none of it is sent.
    sim.revokeToken(TOKEN);
    const since = sim.calls().at(-1)?.seq ?? 0;
    const backlog = phase(3, 'pending', 1000, true);
    const ids = (await producer.enqueueMany(backlog.updates)).map((r) => r.objectWriteTraceId);
    // A refused call means a pass ingested everything enqueued before it (a pass ingests before it sends).
    await waitFor(() => sim.calls(since).some((c) => c.status === 401), { what: 'a refused call' });
    sim.mergeRecords(TOKEN, 'contacts', LOSER, WINNER);
    sim.restoreToken(TOKEN);
    const outcomes = await producer.waitForOutcomes(ids, { timeoutMs: 30_000 });

    const problems: string[] = [];
    outcomes.forEach((o, i) => {
      const kind = backlog.kinds[i] as string;
      const where = `${kind} ${i}: ${o.status} ${o.hubspotObjectId ?? o.error?.category}`;
      if (kind === 'loserEmail' && (o.status === 'failed' || o.hubspotObjectId !== WINNER))
        problems.push(where);
      if (kind === 'loserId' && !(o.status === 'failed' && o.error?.category === 'OBJECT_NOT_FOUND'))
        problems.push(where);
      if ((kind === 'background' || kind === 'winnerId') && o.status === 'failed') problems.push(where);
    });
    expect(problems).toEqual([]);
    expect(backlog.kinds.filter((k) => k === 'loserEmail').length).toBeGreaterThan(10);
    expect(sim.getObject(TOKEN, 'contacts', LOSER)).toBeUndefined();
    // The winner holds, per property, the last value enqueued for it by its id or by the loser's email.
    const onWinner = (_: unknown, i: number) =>
      backlog.kinds[i] === 'winnerId' || backlog.kinds[i] === 'loserEmail';
    const winner = lastValues(
      backlog.updates.filter(onWinner),
      backlog.record.filter(onWinner).map(() => `contacts|${WINNER}`),
    );
    expect(staleOf(sim, winner)).toEqual([]);
    const background = (_: unknown, i: number) => backlog.kinds[i] === 'background';
    expect(
      staleOf(sim, lastValues(backlog.updates.filter(background), backlog.record.filter(background))),
    ).toEqual([]);
  });

  it('an update addressed by the email it changes, then (once it landed) updates by the new email and the old', async () => {
    const sim = await testSimulator();
    seedIdentity(sim, [{ ...CONTACTS, records: 3 }]);
    const queue = testQueue('identity-email-seq');
    const producer = testProducer(queue);
    await testWorker(queue, sim);
    const updates: UpdateRequest[] = [
      {
        objectType: 'contacts',
        id: 'contact1@example.com',
        idProperty: 'email',
        properties: { email: 'new1@example.com', firstname: 'A' },
      },
      { objectType: 'contacts', id: 'new1@example.com', idProperty: 'email', properties: { firstname: 'B' } },
      { objectType: 'contacts', id: '100001', properties: { city: 'C' } },
      { objectType: 'contacts', id: 'NEW1@example.com', idProperty: 'email', properties: { lastname: 'D' } },
    ];
    const first = await producer.enqueueMany(updates.slice(0, 1));
    await producer.waitForOutcomes(first.map((r) => r.objectWriteTraceId));
    const rest = await producer.enqueueMany(updates.slice(1));
    const outcomes = await producer.waitForOutcomes([...first, ...rest].map((r) => r.objectWriteTraceId));
    expect(outcomes.map((o) => [o.status, o.hubspotObjectId])).toEqual(
      updates.map(() => ['succeeded', '100001']),
    );
    expect(sim.getObject(TOKEN, 'contacts', '100001')?.properties).toMatchObject({
      email: 'new1@example.com',
      firstname: 'B',
      city: 'C',
      lastname: 'D',
    });
    // Later: the new email still names the record; the old one names none any more.
    const [byNew, byOld] = await producer.enqueueMany([
      { objectType: 'contacts', id: 'new1@example.com', idProperty: 'email', properties: { city: 'E' } },
      { objectType: 'contacts', id: 'contact1@example.com', idProperty: 'email', properties: { city: 'F' } },
    ]);
    const [newOutcome, oldOutcome] = await producer.waitForOutcomes([
      byNew?.objectWriteTraceId as string,
      byOld?.objectWriteTraceId as string,
    ]);
    expect(newOutcome).toMatchObject({ status: 'succeeded', hubspotObjectId: '100001' });
    expect(oldOutcome).toMatchObject({ status: 'failed', error: { category: 'OBJECT_NOT_FOUND' } });
    expect(sim.getObject(TOKEN, 'contacts', '100001')?.properties.city).toBe('E');
  });

  // The new email is looked up before the change lands: HubSpot knows no record with it yet. The updates by it
  // wait for the change (queued before them) and then join its record.
  it('an update addressed by the email it changes, with updates by the new email right behind it', async () => {
    const sim = await testSimulator();
    seedIdentity(sim, [{ ...CONTACTS, records: 3 }]);
    const queue = testQueue('identity-email');
    const producer = testProducer(queue);
    await testWorker(queue, sim);
    const updates: UpdateRequest[] = [
      {
        objectType: 'contacts',
        id: 'contact1@example.com',
        idProperty: 'email',
        properties: { email: 'new1@example.com', firstname: 'A' },
      },
      { objectType: 'contacts', id: 'new1@example.com', idProperty: 'email', properties: { firstname: 'B' } },
      { objectType: 'contacts', id: '100001', properties: { city: 'C' } },
      { objectType: 'contacts', id: 'NEW1@example.com', idProperty: 'email', properties: { lastname: 'D' } },
    ];
    const results = await producer.enqueueMany(updates);
    const outcomes = await producer.waitForOutcomes(results.map((r) => r.objectWriteTraceId));
    expect(outcomes.map((o) => [o.status, o.hubspotObjectId])).toEqual(
      updates.map(() => ['succeeded', '100001']),
    );
    expect(sim.getObject(TOKEN, 'contacts', '100001')?.properties).toMatchObject({
      email: 'new1@example.com',
      firstname: 'B',
      city: 'C',
      lastname: 'D',
    });
  });

  it('an email set by an update addressed by record id, and a change that never lands: nothing waits forever', async () => {
    const sim = await testSimulator();
    seedIdentity(sim, [{ ...CONTACTS, records: 3 }]);
    const queue = testQueue('identity-email-by-id');
    const producer = testProducer(queue);
    await testWorker(queue, sim);
    const updates: UpdateRequest[] = [
      // By record id: the new email lands with it, and the updates by that email behind it follow it.
      { objectType: 'contacts', id: '100002', properties: { email: 'moved2@example.com' } },
      { objectType: 'contacts', id: 'Moved2@example.com', idProperty: 'email', properties: { city: 'G' } },
      // A record that does not exist: its email change fails, and so do the updates waiting for that email.
      { objectType: 'contacts', id: '999999', properties: { email: 'ghost@example.com' } },
      { objectType: 'contacts', id: 'ghost@example.com', idProperty: 'email', properties: { city: 'H' } },
    ];
    const results = await producer.enqueueMany(updates);
    const outcomes = await producer.waitForOutcomes(results.map((r) => r.objectWriteTraceId));
    expect(outcomes.map((o) => [o.status, o.hubspotObjectId ?? o.error?.category])).toEqual([
      ['succeeded', '100002'],
      ['succeeded', '100002'],
      ['failed', 'OBJECT_NOT_FOUND'],
      ['failed', 'OBJECT_NOT_FOUND'],
    ]);
    expect(sim.getObject(TOKEN, 'contacts', '100002')?.properties).toMatchObject({
      email: 'moved2@example.com',
      city: 'G',
    });
    expect(sim.findByProperty(TOKEN, 'contacts', 'city', 'H')).toBeUndefined();
  });

  it('an email that names no record fails OBJECT_NOT_FOUND; its neighbours succeed', async () => {
    const sim = await testSimulator();
    seedIdentity(sim, [{ ...CONTACTS, records: 3 }]);
    const queue = testQueue('identity-missing');
    const producer = testProducer(queue);
    await testWorker(queue, sim);
    const results = await producer.enqueueMany([
      { objectType: 'contacts', id: 'nobody@example.com', idProperty: 'email', properties: { city: 'x' } },
      { objectType: 'contacts', id: 'contact2@example.com', idProperty: 'email', properties: { city: 'y' } },
      { objectType: 'contacts', id: '100000', properties: { city: 'z' } },
    ]);
    const [missing, byEmail, byId] = await producer.waitForOutcomes(results.map((r) => r.objectWriteTraceId));
    expect(missing).toMatchObject({ status: 'failed', error: { category: 'OBJECT_NOT_FOUND' } });
    expect(missing?.hubspotObjectId).toBeUndefined();
    expect(byEmail).toMatchObject({ status: 'succeeded', hubspotObjectId: '100002' });
    expect(byId).toMatchObject({ status: 'succeeded', hubspotObjectId: '100000' });
    expect(sim.findByProperty(TOKEN, 'contacts', 'city', 'x')).toBeUndefined();
  });
});
