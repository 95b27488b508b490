import { describe, expect, it } from 'vitest';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker } from '../helpers/pipeline.js';

/**
 * A value sent in a call whose outcome is unknown (a 5xx, a timeout, a reset) may have landed: older values may no
 * longer be written after it (its tentative fence), but it is not known to have landed either. An update is
 * `superseded` only by a value that did land.
 */
describe('an update is superseded only by a value known to have landed', () => {
  it('a rider whose newer value went out in a 5xx call is sent again when HubSpot then rejects that value', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('tentative-rejected');
    const producer = testProducer(queueName);
    // Merged into one input, the older update rides on the newer one's value; that call meets a 5xx (nothing
    // applied, but the queue cannot know), and the retry learns that the newer value is not a valid option.
    const [older, newer] = await producer.enqueueMany([
      { objectType: 'contacts', id: '1000', properties: { lifecyclestage: 'lead' } },
      { objectType: 'contacts', id: '1000', properties: { lifecyclestage: 'not-a-stage' } },
    ]);
    sim.failNext(1, 'error5xx');
    await testWorker(queueName, sim, { validateProperties: false });
    const traces = [older?.objectWriteTraceId as string, newer?.objectWriteTraceId as string];
    const [a, b] = await producer.waitForOutcomes(traces);
    expect(b).toMatchObject({ status: 'failed', error: { category: 'VALIDATION_ERROR' } });
    expect(a?.status, 'nothing newer landed, so the older value must be written').toBe('succeeded');
    expect(sim.getObject(TOKEN, 'contacts', '1000')?.properties.lifecyclestage).toBe('lead');
  });

  it('a rider whose newer value never gets a known outcome fails with it rather than being superseded', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('tentative-gave-up');
    const producer = testProducer(queueName);
    const [older, newer] = await producer.enqueueMany([
      { objectType: 'contacts', id: '1000', properties: { firstname: 'Old' } },
      { objectType: 'contacts', id: '1000', properties: { firstname: 'New' } },
    ]);
    // Every attempt ends in a 5xx: the newer value may or may not be in HubSpot.
    sim.failNext(2, 'error5xx');
    await testWorker(queueName, sim, { validateProperties: false, maxAttempts: 2 });
    const [a, b] = await producer.waitForOutcomes([
      older?.objectWriteTraceId as string,
      newer?.objectWriteTraceId as string,
    ]);
    expect(b).toMatchObject({ status: 'failed', attempts: 2 });
    expect(a, 'the value it would be superseded by is not known to have landed').toMatchObject({
      status: 'failed',
      attempts: 2,
    });
    expect(sim.getObject(TOKEN, 'contacts', '1000')?.properties.firstname ?? null).toBeNull();
  });

  it('a rider is superseded once the retry of the newer value’s 5xx call lands (unchanged behaviour)', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('tentative-confirmed');
    const producer = testProducer(queueName);
    const [older, newer] = await producer.enqueueMany([
      { objectType: 'contacts', id: '1000', properties: { firstname: 'Old' } },
      { objectType: 'contacts', id: '1000', properties: { firstname: 'New' } },
    ]);
    sim.failNext(1, 'error5xx');
    await testWorker(queueName, sim, { validateProperties: false });
    const [a, b] = await producer.waitForOutcomes([
      older?.objectWriteTraceId as string,
      newer?.objectWriteTraceId as string,
    ]);
    expect(b).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(a).toMatchObject({ status: 'superseded' });
    expect(a?.finishedAt).toBe(b?.finishedAt);
    expect(sim.getObject(TOKEN, 'contacts', '1000')?.properties.firstname).toBe('New');
  });
});

describe('a 207 that rejects one property of an input is split by property, like a 400', () => {
  it('only the update that wrote the rejected property fails; the others are sent again and land', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('207-property');
    const producer = testProducer(queueName);
    const [good, bad] = await producer.enqueueMany([
      { objectType: 'contacts', id: '1000', properties: { firstname: 'Ada' } },
      { objectType: 'contacts', id: '1000', properties: { lifecyclestage: 'lead' } },
    ]);
    const message = 'Property "lifecyclestage" is not writable by this app';
    // The merged input goes out under the newer update's trace id; HubSpot names it and the property.
    sim.failNext(1, 'status', {
      status: 207,
      body: {
        status: 'COMPLETE',
        results: [],
        numErrors: 1,
        errors: [
          {
            status: 'error',
            category: 'VALIDATION_ERROR',
            message,
            context: { objectWriteTraceId: [bad?.objectWriteTraceId], propertyName: ['lifecyclestage'] },
          },
        ],
      },
    });
    await testWorker(queueName, sim, { validateProperties: false });
    const [g, b] = await producer.waitForOutcomes([
      good?.objectWriteTraceId as string,
      bad?.objectWriteTraceId as string,
    ]);
    expect(b).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { category: 'VALIDATION_ERROR', message, httpStatus: 207 },
    });
    expect(g).toMatchObject({ status: 'succeeded', attempts: 1 });
    const sent = sim.calls().filter((c) => c.path.endsWith('/batch/update'));
    expect(sent).toHaveLength(2);
    const properties = sim.getObject(TOKEN, 'contacts', '1000')?.properties;
    expect(properties?.firstname).toBe('Ada');
    expect(properties?.lifecyclestage ?? null).toBeNull();
  });
});
