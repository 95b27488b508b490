import { describe, expect, it } from 'vitest';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker } from '../helpers/pipeline.js';

/**
 * Answers that are legal but odd: a value HubSpot rejects that a trimming check would accept, two inputs
 * sharing an id string, a 207 counting more errors than it lists, a 413. Each update must end with the outcome
 * that is true of HubSpot's records.
 */

type Sim = Awaited<ReturnType<typeof testSimulator>>;

const batchCalls = (sim: Sim) => sim.calls().filter((c) => c.path.endsWith('/batch/update'));

async function simWith(objects: Array<{ id?: string; properties: Record<string, string> }>) {
  const sim = await testSimulator();
  sim.createObjects(TOKEN, 'contacts', objects);
  return sim;
}

describe('odd but legal HubSpot answers', () => {
  for (const validateProperties of [false, true]) {
    it(`fails only the input whose number has a trailing newline; the other 10 land (schema check ${validateProperties ? 'on' : 'off'})`, async () => {
      const ids = Array.from({ length: 11 }, (_, i) => String(3000 + i));
      const sim = await simWith(ids.map((id) => ({ id, properties: {} })));
      const queue = testQueue('whitespace');
      const producer = testProducer(queue);
      const value = (i: number) => (i === 4 ? '42\n' : String(30 + i));
      const enqueued = await producer.enqueueMany(
        ids.map((id, i) => ({ objectType: 'contacts', id, properties: { age: value(i) } })),
      );
      await testWorker(queue, sim, { validateProperties });
      const outcomes = await producer.waitForOutcomes(enqueued.map((r) => r.objectWriteTraceId));

      outcomes.forEach((o, i) => {
        if (i === 4) {
          // Refused before sending costs no attempt; refused by HubSpot costs one.
          expect(o).toMatchObject({
            status: 'failed',
            attempts: validateProperties ? 0 : 1,
            error: { category: 'VALIDATION_ERROR' },
          });
          expect(o.error?.message).toContain('"42\\n" includes leading or trailing whitespace.');
        } else {
          expect(o, `update ${i}`).toMatchObject({ status: 'succeeded', attempts: 1 });
          expect(sim.getObject(TOKEN, 'contacts', ids[i] as string)?.properties.age).toBe(value(i));
        }
      });
      expect(sim.getObject(TOKEN, 'contacts', ids[4] as string)?.properties.age).toBeUndefined();
      const calls = batchCalls(sim).map((c) => [c.status, c.inputCount]);
      // With the check on, the value never reaches HubSpot; without it, one 400 and the other 10 resent.
      expect(calls).toEqual(
        validateProperties
          ? [[200, 10]]
          : [
              [400, 11],
              [200, 10],
            ],
      );
    });
  }

  it('never takes an idProperty value equal to a record id for that record, so each gets its own outcome', async () => {
    const sim = await simWith([{ id: '1005', properties: { firstname: 'Old' } }]);
    const queue = testQueue('shared-id');
    const producer = testProducer(queue);
    const [byRecordId, byExternalId] = await producer.enqueueMany([
      { objectType: 'contacts', id: '1005', properties: { firstname: 'A' } },
      { objectType: 'contacts', id: '1005', idProperty: 'external_id', properties: { firstname: 'B' } },
    ]);
    await testWorker(queue, sim, { validateProperties: false });
    const [a, b] = await producer.waitForOutcomes([
      byRecordId?.objectWriteTraceId as string,
      byExternalId?.objectWriteTraceId as string,
    ]);
    expect(a).toMatchObject({ status: 'succeeded', attempts: 1, hubspotObjectId: '1005' });
    // The external_id is resolved by a batch/read: no record has it, so that update fails unsent.
    expect(b).toMatchObject({ status: 'failed', attempts: 0, error: { category: 'OBJECT_NOT_FOUND' } });
    expect(sim.getObject(TOKEN, 'contacts', '1005')?.properties.firstname).toBe('A');
    expect(batchCalls(sim).map((c) => [c.status, c.ids, c.idProperties])).toEqual([[200, ['1005'], [null]]]);
    const reads = sim.calls().filter((c) => c.endpoint === 'batchRead');
    expect(reads.map((c) => [c.status, c.ids, c.idProperties])).toEqual([[207, ['1005'], ['external_id']]]);
  });

  it('retries an input a 207 leaves unaccounted (numErrors 2, one error listed) instead of calling it succeeded', async () => {
    const sim = await simWith([
      // The scripted answer below claims 1000 was updated: it already holds the value, so that claim is true.
      { id: '1000', properties: { city: 'Oslo' } },
      { id: '1001', properties: { email: 'c@example.com' } },
    ]);
    sim.failNext(1, 'status', {
      status: 207,
      body: {
        status: 'COMPLETE',
        numErrors: 2,
        errors: [
          {
            status: 'error',
            category: 'OBJECT_NOT_FOUND',
            message: 'Could not get some CONTACT objects, they may be deleted or not exist.',
            context: { ids: ['999999'] },
          },
        ],
        results: [{ id: '1000', properties: { city: 'Oslo', hs_object_id: '1000' } }],
      },
    });
    const queue = testQueue('unlisted');
    const producer = testProducer(queue);
    const enqueued = await producer.enqueueMany([
      { objectType: 'contacts', id: '1000', properties: { city: 'Oslo' } },
      { objectType: 'contacts', id: '999999', properties: { city: 'Oslo' } },
      { objectType: 'contacts', id: 'c@example.com', idProperty: 'email', properties: { city: 'Oslo' } },
    ]);
    await testWorker(queue, sim, { validateProperties: false });
    const [known, missing, unlisted] = await producer.waitForOutcomes(
      enqueued.map((r) => r.objectWriteTraceId),
    );
    expect(known).toMatchObject({ status: 'succeeded', attempts: 1, hubspotObjectId: '1000' });
    expect(missing).toMatchObject({ status: 'failed', attempts: 1, error: { category: 'OBJECT_NOT_FOUND' } });
    // Its first call proved nothing; the retry is what landed it.
    expect(unlisted).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(sim.getObject(TOKEN, 'contacts', '1001')?.properties.city).toBe('Oslo');
    expect(batchCalls(sim).map((c) => [c.status, c.inputCount])).toEqual([
      [207, 3],
      [200, 1],
    ]);
  });

  it('splits a batch HubSpot answers 413 into halves, spending no attempt', async () => {
    const ids = ['2000', '2001', '2002', '2003'];
    const sim = await simWith(ids.map((id) => ({ id, properties: {} })));
    sim.failNext(1, 'status', { status: 413, body: '<html><h1>413 Request Entity Too Large</h1></html>' });
    const queue = testQueue('413');
    const producer = testProducer(queue);
    const enqueued = await producer.enqueueMany(
      ids.map((id) => ({ objectType: 'contacts', id, properties: { city: 'Lima' } })),
    );
    await testWorker(queue, sim, { validateProperties: false });
    const outcomes = await producer.waitForOutcomes(enqueued.map((r) => r.objectWriteTraceId));
    expect(outcomes.map((o) => [o.status, o.attempts])).toEqual(ids.map(() => ['succeeded', 1]));
    for (const id of ids) expect(sim.getObject(TOKEN, 'contacts', id)?.properties.city).toBe('Lima');
    expect(batchCalls(sim).map((c) => [c.status, c.inputCount])).toEqual([
      [413, 4],
      [200, 2],
      [200, 2],
    ]);
  });

  it('fails a lone input HubSpot answers 413 with PAYLOAD_TOO_LARGE', async () => {
    const sim = await simWith([{ id: '2100', properties: {} }]);
    sim.failNext(1, 'status', { status: 413, body: '' });
    const queue = testQueue('413-lone');
    const producer = testProducer(queue);
    const [r] = await producer.enqueueMany([
      { objectType: 'contacts', id: '2100', properties: { notes: 'x'.repeat(1000) } },
    ]);
    await testWorker(queue, sim, { validateProperties: false });
    const [o] = await producer.waitForOutcomes([r?.objectWriteTraceId as string]);
    expect(o).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { category: 'PAYLOAD_TOO_LARGE', httpStatus: 413 },
    });
    expect(batchCalls(sim).map((c) => c.status)).toEqual([413]);
  });
});
