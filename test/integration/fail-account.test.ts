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

const admin = (queueName: string) => testAdmin(queueName, { outcomeTtlSeconds: 600 });

describe('fail-account fails every waiting update of the account', () => {
  it('an update waiting behind a hold (object parked in the held zset) is failed too', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('fa-held');
    const producer = testProducer(queueName);
    const redis = testRedis();
    const k = queueKeys(queueName);
    // A's call meets a 5xx: it may still apply, so the object is held (60 s) and A backs off (long).
    sim.failNext(1, 'error5xx');
    await testWorker(queueName, sim, {
      ambiguousHoldMs: 4000,
      backoffBaseMs: 60_000,
      backoffMaxMs: 60_000,
      validateProperties: false,
    });
    const a = await producer.enqueue({ objectType: 'contacts', id: '1000', properties: { firstname: 'A' } });
    await waitFor(async () => (await producer.getOutcome(a.objectWriteTraceId))?.status === 'retrying', {
      what: 'A to back off',
    });
    const b = await producer.enqueue({ objectType: 'contacts', id: '1000', properties: { firstname: 'B' } });
    // B is ingested; the claim finds the object held without A and parks it in the held zset.
    await waitFor(
      async () =>
        (await redis.zscore(k.held, OBJECT)) !== null &&
        (await redis.zscore(k.pending('default|contacts'), OBJECT)) === null &&
        (await redis.llen(k.objectUpdates(OBJECT))) === 1,
      {
        what: 'the object parked under its hold with B waiting',
      },
    );

    const { failed } = await admin(queueName).failAccount('default', {
      reason: 'credentials revoked for good',
    });
    const [oa, ob] = await producer.getOutcomes([a.objectWriteTraceId, b.objectWriteTraceId]);
    // What happens to B once the hold ends: it is sent, although the operator failed the account.
    const [later] = await producer
      .waitForOutcomes([b.objectWriteTraceId], { timeoutMs: 15_000 })
      .catch(() => [null]);
    console.info(
      `fail-account reported ${failed}; A ${oa?.status}, B ${ob?.status} then ${later?.status}; HubSpot firstname ${sim.getObject(TOKEN, 'contacts', '1000')?.properties.firstname}`,
    );
    expect(oa?.status).toBe('failed');
    expect(ob?.status, 'B waits to be sent: fail-account must fail it').toBe('failed');
    expect(failed).toBe(2);
  });

  it('an update that arrived while its object was in flight is failed too', async () => {
    const sim = await testSimulator({ latencyMs: 2500 });
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('fa-inflight');
    const producer = testProducer(queueName);
    const redis = testRedis();
    const k = queueKeys(queueName);
    await testWorker(queueName, sim, { validateProperties: false });
    const a = await producer.enqueue({ objectType: 'contacts', id: '1000', properties: { firstname: 'A' } });
    await waitFor(async () => (await redis.hlen(k.inflight)) === 1, { what: 'A in flight' });
    const b = await producer.enqueue({ objectType: 'contacts', id: '1000', properties: { firstname: 'B' } });
    await waitFor(async () => (await redis.llen(k.objectUpdates(OBJECT))) === 1, {
      what: 'B ingested behind A',
    });

    const { failed } = await admin(queueName).failAccount('default', {
      reason: 'credentials revoked for good',
    });
    await producer.waitForOutcomes([a.objectWriteTraceId]);
    // Give B the chance to go out if it was left behind.
    await waitFor(
      async () => (await redis.hlen(k.inflight)) === 0 && (await redis.llen(k.objectUpdates(OBJECT))) === 0,
      {
        what: 'the object to be idle',
        timeoutMs: 15_000,
      },
    ).catch(() => undefined);
    const ob = await producer.getOutcome(b.objectWriteTraceId);
    console.info(
      `fail-account reported ${failed}; B ${ob?.status}; HubSpot firstname ${sim.getObject(TOKEN, 'contacts', '1000')?.properties.firstname}`,
    );
    expect(failed, 'B was waiting to be sent').toBe(1);
    expect(ob?.status).toBe('failed');
  });

  it('a fence is not left without TTL once fail-account failed the last update of its object', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('fa-fence');
    const producer = testProducer(queueName);
    const redis = testRedis();
    const k = queueKeys(queueName);
    await testWorker(queueName, sim, {
      ambiguousHoldMs: 0,
      backoffBaseMs: 60_000,
      backoffMaxMs: 60_000,
      validateProperties: false,
    });
    const z = await producer.enqueue({ objectType: 'contacts', id: '1000', properties: { firstname: 'Z' } });
    await producer.waitForOutcomes([z.objectWriteTraceId]);
    sim.failNext(1, 'error5xx');
    const a = await producer.enqueue({ objectType: 'contacts', id: '1000', properties: { firstname: 'A' } });
    await waitFor(async () => (await producer.getOutcome(a.objectWriteTraceId))?.status === 'retrying', {
      what: 'A to back off',
    });
    expect((await admin(queueName).failAccount('default', { reason: 'revoked' })).failed).toBe(1);
    const fenceTtl = await redis.pttl(k.landed(OBJECT));
    const jobTtl = await redis.pttl(`${k.jobPrefix}t-${a.objectWriteTraceId}`);
    console.info(`after fail-account: fence PTTL ${fenceTtl}, failed job PTTL ${jobTtl}`);
    expect(fenceTtl, 'nothing of the object is left to send: the fence must expire').toBeGreaterThan(0);
  });
});
