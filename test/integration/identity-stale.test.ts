import { describe, expect, it } from 'vitest';
import { FaultKind } from '../../src/simulator/types.js';
import { seedIdentity } from '../helpers/identity.js';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker, waitFor } from '../helpers/pipeline.js';

const CONTACTS = {
  objectType: 'contacts',
  records: 3,
  uniques: { email: (n: number) => `contact${n}@example.com` },
  properties: {},
};

describe('mappings that go stale', () => {
  // An update routed by the old email while the change is in flight lands in a later batch, by record id: that
  // call says nothing about which email the record has, so it must not bring the old email's mapping back.
  it('an update by the old email sent after the email change landed does not map the old email again', async () => {
    const sim = await testSimulator();
    seedIdentity(sim, [CONTACTS]);
    const queue = testQueue('identity-stale-relearn');
    const producer = testProducer(queue);
    await testWorker(queue, sim);
    const oldEmail = 'contact1@example.com';
    const newEmail = 'new1@example.com';

    // The old email is mapped (read once).
    const [warm] = await producer.enqueueMany([
      { objectType: 'contacts', id: oldEmail, idProperty: 'email', properties: { firstname: 'W' } },
    ]);
    await producer.waitForOutcomes([warm?.objectWriteTraceId as string]);

    // The change by record id applies at once but its answer is slow: the batch stays in flight meanwhile.
    sim.failNext(1, FaultKind.hang, { hangMs: 1500 });
    const [change] = await producer.enqueueMany([
      { objectType: 'contacts', id: '100001', properties: { email: newEmail } },
    ]);
    await waitFor(() => sim.getObject(TOKEN, 'contacts', '100001')?.properties.email === newEmail, {
      what: 'the email change to apply',
    });
    // Routed by the (still cached) old email to the record, behind the change: a batch of its own.
    const [behind] = await producer.enqueueMany([
      { objectType: 'contacts', id: oldEmail, idProperty: 'email', properties: { city: 'X' } },
    ]);
    await producer.waitForOutcomes([
      change?.objectWriteTraceId as string,
      behind?.objectWriteTraceId as string,
    ]);

    // Both landed: the old email names no record in HubSpot any more, the new one names 100001.
    expect(sim.findByProperty(TOKEN, 'contacts', 'email', oldEmail)).toBeUndefined();
    const [byOld, byNew] = await producer.enqueueMany([
      { objectType: 'contacts', id: oldEmail, idProperty: 'email', properties: { lastname: 'Y' } },
      { objectType: 'contacts', id: newEmail, idProperty: 'email', properties: { city: 'Z' } },
    ]);
    const [oldOutcome, newOutcome] = await producer.waitForOutcomes([
      byOld?.objectWriteTraceId as string,
      byNew?.objectWriteTraceId as string,
    ]);
    expect(oldOutcome).toMatchObject({ status: 'failed', error: { category: 'OBJECT_NOT_FOUND' } });
    expect(newOutcome).toMatchObject({ status: 'succeeded', hubspotObjectId: '100001' });
    expect(sim.getObject(TOKEN, 'contacts', '100001')?.properties.lastname).toBeUndefined();
  });

  // HubSpot's 200 COMPLETE that neither lists the value's record nor names it missing (a value it matched
  // differently, say) settles nothing. For a batch update such an answer spends an attempt and ends the update after
  // MAX_ATTEMPTS; a read that keeps saying nothing must not be made again and again without end either.
  it('a read that keeps saying nothing about an address is not made again without bound', async () => {
    const sim = await testSimulator();
    seedIdentity(sim, [CONTACTS]);
    const queue = testQueue('identity-read-silent');
    const producer = testProducer(queue);
    await testWorker(queue, sim, { maxAttempts: 3 });
    sim.failNext(30, FaultKind.status, {
      status: 200,
      body: { status: 'COMPLETE', results: [], startedAt: 'x', completedAt: 'x' },
      call: 'read',
    });
    const [r] = await producer.enqueueMany([
      { objectType: 'contacts', id: 'contact2@example.com', idProperty: 'email', properties: { city: 'Q' } },
    ]);
    const [outcome] = await producer.waitForOutcomes([r?.objectWriteTraceId as string], {
      timeoutMs: 30_000,
    });
    const reads = sim.calls().filter((c) => c.endpoint === 'batchRead').length;
    expect({ status: outcome?.status, reads }).toEqual({ status: 'failed', reads: 3 });
  });
});
