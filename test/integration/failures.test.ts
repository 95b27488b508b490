import { describe, expect, it } from 'vitest';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker, waitFor } from '../helpers/pipeline.js';

const batchCalls = (sim: {
  calls(): Array<{
    path: string;
    status: number | 'reset';
    at: number;
    inputCount: number;
    endpoint: string | null;
  }>;
}) => sim.calls().filter((c) => c.path.endsWith('/batch/update'));

async function seeded(count: number, start = 1000) {
  const sim = await testSimulator();
  const objects = Array.from({ length: count }, (_, i) => ({ id: String(start + i), properties: {} }));
  sim.createObjects(TOKEN, 'contacts', objects);
  return { sim, ids: objects.map((o) => o.id) };
}

describe('failure handling against the simulator', () => {
  for (const validateProperties of [true, false]) {
    it(`isolates 3 poison inputs in a batch of 100: 97 succeed, 3 fail naming the property (schema check ${validateProperties ? 'on' : 'off'})`, async () => {
      const { sim, ids } = await seeded(100);
      const queue = testQueue('poison');
      const producer = testProducer(queue);
      const poison = new Set([7, 42, 88]);
      const results = await producer.enqueueMany(
        ids.map((id, i) => ({
          objectType: 'contacts',
          id,
          properties: poison.has(i) ? { age: `not-a-number-${i}` } : { age: i },
        })),
      );
      await testWorker(queue, sim, { validateProperties });
      const outcomes = await producer.waitForOutcomes(results.map((r) => r.objectWriteTraceId));
      outcomes.forEach((o, i) => {
        if (poison.has(i)) {
          expect(o.status).toBe('failed');
          expect(o.error?.message).toContain('not-a-number');
          expect(o.error?.category).toBe('VALIDATION_ERROR');
        } else {
          expect(o.status, `update ${i}`).toBe('succeeded');
        }
      });
      console.info(
        `poison (schema check ${validateProperties ? 'on' : 'off'}): ${sim.calls().length} calls, statuses ${sim
          .calls()
          .map((c) => c.status)
          .join(',')}`,
      );
      expect(sim.calls().length).toBeLessThanOrEqual(20);
      if (validateProperties) expect(batchCalls(sim).every((c) => c.status === 200)).toBe(true);
    });
  }

  it('fails OBJECT_NOT_FOUND inputs of a 207 at once and succeeds the rest', async () => {
    const { sim } = await seeded(2);
    const queue = testQueue('207');
    const producer = testProducer(queue);
    const results = await producer.enqueueMany([
      { objectType: 'contacts', id: '1000', properties: { firstname: 'A' } },
      { objectType: 'contacts', id: '999999', properties: { firstname: 'B' } },
      {
        objectType: 'contacts',
        id: 'nobody@example.com',
        idProperty: 'email',
        properties: { firstname: 'C' },
      },
    ]);
    await testWorker(queue, sim);
    const [a, b, c] = await producer.waitForOutcomes(results.map((r) => r.objectWriteTraceId));
    expect(a).toMatchObject({ status: 'succeeded', attempts: 1, hubspotObjectId: '1000' });
    expect(b).toMatchObject({ status: 'failed', attempts: 1, error: { category: 'OBJECT_NOT_FOUND' } });
    // The email is resolved by a batch/read before any update: it names no record, so its update fails without
    // ever being sent (no attempt spent).
    expect(c).toMatchObject({
      status: 'failed',
      attempts: 0,
      idProperty: 'email',
      error: { category: 'OBJECT_NOT_FOUND' },
    });
    expect(batchCalls(sim)).toHaveLength(1);
    expect(sim.calls().filter((call) => call.endpoint === 'batchRead')).toHaveLength(1);
  });

  it('retries CANCELED, 5xx with HTML bodies and connection resets, spending attempts', async () => {
    const { sim, ids } = await seeded(3);
    sim.failNext(1, 'canceled');
    sim.failNext(1, 'error5xx', { status: 502 });
    sim.failNext(1, 'reset');
    const queue = testQueue('retry');
    const producer = testProducer(queue);
    const results = await producer.enqueueMany(
      ids.map((id) => ({ objectType: 'contacts', id, properties: { city: 'Oslo' } })),
    );
    await testWorker(queue, sim);
    const outcomes = await producer.waitForOutcomes(results.map((r) => r.objectWriteTraceId));
    expect(outcomes.map((o) => [o.status, o.attempts])).toEqual([
      ['succeeded', 4],
      ['succeeded', 4],
      ['succeeded', 4],
    ]);
    expect(batchCalls(sim).map((c) => c.status)).toEqual([200, 502, 'reset', 200]);
  });

  it('waits at least 2 s after a 423 before retrying', async () => {
    const { sim, ids } = await seeded(1);
    sim.failNext(1, 'locked423');
    const queue = testQueue('423');
    const producer = testProducer(queue);
    const [r] = await producer.enqueueMany([
      { objectType: 'contacts', id: ids[0] as string, properties: { city: 'Rome' } },
    ]);
    await testWorker(queue, sim);
    const [o] = await producer.waitForOutcomes([r?.objectWriteTraceId as string]);
    expect(o?.status).toBe('succeeded');
    const [locked, retried] = batchCalls(sim);
    expect(locked?.status).toBe(423);
    expect((retried?.at ?? 0) - (locked?.at ?? 0)).toBeGreaterThanOrEqual(2000);
  });

  it('retries a 429 after the window without spending an attempt', async () => {
    const { sim, ids } = await seeded(1);
    sim.failNext(1, 'status', {
      status: 429,
      body: {
        status: 'error',
        message: 'You have reached your ten_secondly_rolling limit.',
        errorType: 'RATE_LIMIT',
        policyName: 'TEN_SECONDLY_ROLLING',
      },
      headers: { 'Retry-After': '1' },
    });
    const queue = testQueue('429');
    const producer = testProducer(queue);
    const [r] = await producer.enqueueMany([
      { objectType: 'contacts', id: ids[0] as string, properties: { city: 'Lima' } },
    ]);
    await testWorker(queue, sim);
    const [o] = await producer.waitForOutcomes([r?.objectWriteTraceId as string]);
    expect(o).toMatchObject({ status: 'succeeded', attempts: 1 });
    const [limited, retried] = batchCalls(sim);
    expect((retried?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it('pauses an account on 401 without failing its updates, and resumes once credentials work', async () => {
    const { sim, ids } = await seeded(2);
    sim.revokeToken(TOKEN);
    const queue = testQueue('401');
    const producer = testProducer(queue);
    const results = await producer.enqueueMany(
      ids.map((id) => ({ objectType: 'contacts', id, properties: { city: 'Kyiv' } })),
    );
    const traces = results.map((r) => r.objectWriteTraceId);
    await testWorker(queue, sim, { authPauseMs: 1000, validateProperties: false });
    await waitFor(() => batchCalls(sim).filter((c) => c.status === 401).length >= 2, { what: 'two 401s' });
    const during = await producer.getOutcomes(traces);
    for (const o of during) expect(['queued', 'retrying']).toContain(o?.status);
    sim.restoreToken(TOKEN);
    const outcomes = await producer.waitForOutcomes(traces);
    expect(outcomes.map((o) => [o.status, o.attempts])).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
    ]);
  });

  it('keeps the newest value when a 504 arrives after the write applied and a newer update follows', async () => {
    const { sim } = await seeded(1);
    sim.failNext(1, 'ambiguous504');
    const queue = testQueue('504');
    const producer = testProducer(queue);
    const [first] = await producer.enqueueMany([
      { objectType: 'contacts', id: '1000', properties: { firstname: 'Old', city: 'Old' } },
    ]);
    await testWorker(queue, sim, { backoffBaseMs: 1500, backoffMaxMs: 3000 });
    await waitFor(() => batchCalls(sim).some((c) => c.status === 504), { what: 'the 504' });
    const [second] = await producer.enqueueMany([
      { objectType: 'contacts', id: '1000', properties: { firstname: 'New' } },
    ]);
    const [a, b] = await producer.waitForOutcomes([
      first?.objectWriteTraceId as string,
      second?.objectWriteTraceId as string,
    ]);
    expect(b?.status).toBe('succeeded');
    expect(['succeeded', 'superseded']).toContain(a?.status);
    expect(sim.getObject(TOKEN, 'contacts', '1000')?.properties).toMatchObject({
      firstname: 'New',
      city: 'Old',
    });
  });
});
