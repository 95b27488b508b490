import { describe, expect, it } from 'vitest';
import { objectKeyOf, queueKeys } from '../../src/keys.js';
import {
  TOKEN,
  testAdmin,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

const OBJECT = objectKeyOf('default', 'contacts', undefined, '1000');

describe('fail-account keeps the holds that fence a call which may still apply', () => {
  it('a call of the account that lands after fail-account does not end on top of a later update', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    // A's call reaches HubSpot, which applies it 2.5 s later; the client gives up after 500 ms.
    sim.failNext(1, 'lateApply', { hangMs: 2500 });
    const queueName = testQueue('fa-keep-hold');
    const producer = testProducer(queueName);
    const redis = testRedis();
    const k = queueKeys(queueName);
    await testWorker(queueName, sim, {
      httpTimeoutMs: 500,
      ambiguousHoldMs: 5000,
      backoffBaseMs: 60_000,
      backoffMaxMs: 60_000,
      validateProperties: false,
    });
    const a = await producer.enqueue({ objectType: 'contacts', id: '1000', properties: { firstname: 'A' } });
    // The timed-out call may still apply: A backs off and the object is held for it.
    await waitFor(async () => (await producer.getOutcome(a.objectWriteTraceId))?.status === 'retrying', {
      what: 'A to back off after its call timed out',
    });
    expect(await redis.hexists(k.holds, OBJECT)).toBe(1);

    const result = await testAdmin(queueName, { outcomeTtlSeconds: 600 }).failAccount('default', {
      reason: 'customer disconnected',
    });
    const holdKept = await redis.hexists(k.holds, OBJECT);

    // The account is used again: C, enqueued after the operator acted, while A's call is still at HubSpot.
    const c = await producer.enqueue({ objectType: 'contacts', id: '1000', properties: { firstname: 'C' } });
    const [oc] = await producer.waitForOutcomes([c.objectWriteTraceId], { timeoutMs: 20_000 });
    await sim.idle();
    const final = sim.getObject(TOKEN, 'contacts', '1000')?.properties.firstname;
    const lateApplied = sim.calls().filter((call) => call.fault === 'lateApply');
    console.info(`C ${oc?.status}; HubSpot ends with firstname=${final}; late applies ${lateApplied.length}`);
    expect((await producer.getOutcome(a.objectWriteTraceId))?.status).toBe('failed');
    expect(oc?.status).toBe('succeeded');
    expect(lateApplied).toHaveLength(1);
    expect(final, 'the later update must stay on top').toBe('C');
    expect(result.failed).toBe(1);
    expect(holdKept, 'the hold outlives the update fail-account failed').toBe(1);
  }, 40_000);
});
