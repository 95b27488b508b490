import { describe, expect, it } from 'vitest';
import { CHECKED_JOB_NAME } from '../../src/keys.js';
import {
  TOKEN,
  testBullQueue,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';

/**
 * Updates are validated once, where they enter: by our producer, or by the worker for jobs another client added.
 * A worker whose limits are tighter than the producer's shows which side validated an update.
 */
describe('validation once per trust boundary', () => {
  const long = 'x'.repeat(50);
  const tight = { limits: { maxValueLength: 10 }, validateProperties: false };

  it("takes what our producer validated as it is, and validates what another client's job carries", async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [
      { id: '1', properties: {} },
      { id: '2', properties: {} },
    ]);
    const queueName = testQueue('boundary');
    const producer = testProducer(queueName);
    const [ours] = await producer.enqueueMany([
      { objectType: 'contacts', id: '1', properties: { firstname: long }, objectWriteTraceId: 'ours' },
    ]);
    await testBullQueue(queueName).add(
      'update',
      { objectType: 'contacts', id: '2', properties: { firstname: long }, objectWriteTraceId: 'theirs' },
      { jobId: 't-theirs' },
    );
    await testWorker(queueName, sim, tight);
    const [a, b] = await producer.waitForOutcomes([ours?.objectWriteTraceId ?? '', 'theirs'], {
      timeoutMs: 20_000,
    });
    expect(a?.status).toBe('succeeded');
    expect(b?.status).toBe('failed');
    expect(b?.error?.category).toBe('VALIDATION_ERROR');
    expect(b?.error?.message).toContain('properties.firstname');
    expect(sim.getObject(TOKEN, 'contacts', '1')?.properties.firstname).toBe(long);
  });

  it('validates a foreign job that took our job name but is not shaped like an update', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '3', properties: {} }]);
    const queueName = testQueue('boundary-name');
    await testBullQueue(queueName).add(
      CHECKED_JOB_NAME,
      {
        objectType: 'contacts',
        id: '3',
        properties: { firstname: { nested: true } },
        objectWriteTraceId: 'odd',
      },
      { jobId: 't-odd' },
    );
    await testWorker(queueName, sim, tight);
    const producer = testProducer(queueName);
    await waitFor(async () => (await producer.getOutcome('odd'))?.status === 'failed');
    const outcome = await producer.getOutcome('odd');
    expect(outcome?.error?.category).toBe('VALIDATION_ERROR');
    expect(outcome?.error?.message).toContain('properties.firstname');
    expect(sim.getObject(TOKEN, 'contacts', '3')?.properties.firstname).toBeUndefined();
  });
});
