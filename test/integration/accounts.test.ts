import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import {
  testAdmin,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

describe('several HubSpot accounts', () => {
  it('a 401 pauses only its account; an operator can fail its waiting updates and replay them later', async () => {
    const sim = await testSimulator();
    sim.createObjects('tok-a', 'contacts', [
      { id: '1', properties: {} },
      { id: '2', properties: {} },
    ]);
    sim.createObjects('tok-b', 'contacts', [{ id: '1', properties: {} }]);
    sim.revokeToken('tok-a');
    const queue = testQueue('accounts');
    const producer = testProducer(queue);
    const [a1, a2, b1] = await producer.enqueueMany([
      { account: 'a', objectType: 'contacts', id: '1', properties: { city: 'Athens' } },
      { account: 'a', objectType: 'contacts', id: '2', properties: { city: 'Accra' } },
      { account: 'b', objectType: 'contacts', id: '1', properties: { city: 'Bern' } },
    ]);
    const traceA = [a1?.objectWriteTraceId ?? '', a2?.objectWriteTraceId ?? ''];
    await testWorker(queue, sim, {
      accounts: { a: { token: 'tok-a' }, b: { token: 'tok-b' } },
      authPauseMs: 60_000,
      validateProperties: false,
      logger: pino({ level: 'silent' }),
    });

    // Account b is not held up by account a's credentials.
    const [b] = await producer.waitForOutcomes([b1?.objectWriteTraceId ?? '']);
    expect(b).toMatchObject({ status: 'succeeded', account: 'b' });
    expect(sim.getObject('tok-b', 'contacts', '1')?.properties.city).toBe('Bern');

    // Account a is paused, its updates wait (not failed).
    await waitFor(() => sim.calls().some((c) => c.status === 401), { what: 'a 401' });
    const redis = testRedis();
    const keys = queueKeys(queue);
    await waitFor(async () => Number(await redis.hget(keys.stats, 'pending')) === 2, {
      what: 'a handed back',
    });
    for (const o of await producer.getOutcomes(traceA)) expect(['queued', 'retrying']).toContain(o?.status);

    // The operator gives up on account a's waiting updates...
    const admin = testAdmin(queue, { outcomeTtlSeconds: 3600 });
    expect((await admin.failAccount('a', { reason: 'credentials revoked' })).failed).toBe(2);
    const failed = await producer.getOutcomes(traceA);
    for (const o of failed)
      expect(o).toMatchObject({ status: 'failed', error: { category: 'OPERATOR_FAILED' } });
    expect((await admin.listFailed({ account: 'a' })).map((o) => o.objectWriteTraceId).sort()).toEqual(
      [...traceA].sort(),
    );

    // ...and replays them once the credentials work again.
    sim.restoreToken('tok-a');
    await admin.resumeAccount('a');
    expect((await admin.retryFailed({ account: 'a' })).sort()).toEqual([...traceA].sort());
    const replayed = await producer.waitForOutcomes(traceA);
    expect(replayed.map((o) => o.status)).toEqual(['succeeded', 'succeeded']);
    expect(sim.getObject('tok-a', 'contacts', '2')?.properties.city).toBe('Accra');
  });
});
