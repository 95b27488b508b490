import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { objectKeyOf, queueKeys } from '../../src/keys.js';
import { QueueStore } from '../../src/worker/store.js';
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

function store(queueName: string, outcomeTtlSeconds = 600) {
  return new QueueStore({ redis: testRedis(), keys: queueKeys(queueName), outcomeTtlSeconds });
}

/** Claims the object's updates under a throwaway batch, as a worker that then dies would. */
async function claimAsDeadWorker(s: QueueStore, queueName: string) {
  const batchId = randomUUID();
  const claim = await s.claim({
    group: 'default|contacts',
    batchId,
    workerId: 'dead-worker',
    leaseMs: 60_000,
    maxObjects: 100,
    minObjects: 1,
    lingerMs: 0,
    maxUpdatesPerObject: 200,
    maxUpdates: 1000,
  });
  expect(claim.kind).toBe('ok');
  return { batchId, expire: () => testRedis().zadd(queueKeys(queueName).leases, 0, batchId) };
}

describe('fences outlive every update that could still write the object', () => {
  it('an older update that fails after a newer one landed keeps the fence alive as long as it can be replayed', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('fence-ttl');
    const producer = testProducer(queueName);
    const redis = testRedis();
    const k = queueKeys(queueName);
    // The older update meets a 5xx, and its retry a second one, so it fails after the newer one landed.
    sim.failNext(1, 'error5xx');
    await testWorker(queueName, sim, {
      maxAttempts: 2,
      backoffBaseMs: 1500,
      backoffMaxMs: 1500,
      ambiguousHoldMs: 0,
      outcomeTtlSeconds: 600,
      validateProperties: false,
    });
    const older = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      properties: { firstname: 'Old', lastname: 'Older' },
    });
    await waitFor(async () => (await producer.getOutcome(older.objectWriteTraceId))?.status === 'retrying', {
      what: 'the older update to back off',
    });
    const newer = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      properties: { firstname: 'New' },
    });
    await producer.waitForOutcomes([newer.objectWriteTraceId]);
    sim.failNext(1, 'error5xx');
    const [a, b] = await producer.waitForOutcomes([older.objectWriteTraceId, newer.objectWriteTraceId]);
    expect(b?.status).toBe('succeeded');
    expect(a?.status).toBe('failed');
    const fenceTtl = await redis.pttl(k.landed(OBJECT));
    const jobTtl = await redis.pttl(`${k.jobPrefix}t-${older.objectWriteTraceId}`);
    expect(jobTtl, 'the failed update is kept for replay').toBeGreaterThan(0);
    expect(fenceTtl, 'the fence lives at least as long as the failed update').toBeGreaterThanOrEqual(jobTtl);

    // Replayed, it writes its own property and never the older firstname over the newer one.
    const replayed = await testAdmin(queueName).retryFailed({ account: 'default' });
    expect(replayed).toEqual([older.objectWriteTraceId]);
    const [again] = await producer.waitForOutcomes([older.objectWriteTraceId]);
    expect(again?.status).toBe('succeeded');
    expect(sim.getObject(TOKEN, 'contacts', '1000')?.properties).toMatchObject({
      firstname: 'New',
      lastname: 'Older',
    });
  });

  it('a fence is persistent while the account is paused with updates of the object waiting', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('fence-pause');
    const producer = testProducer(queueName);
    const redis = testRedis();
    const k = queueKeys(queueName);
    await testWorker(queueName, sim, {
      outcomeTtlSeconds: 600,
      validateProperties: false,
      authPauseMs: 60_000,
    });
    const first = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      properties: { firstname: 'A' },
    });
    await producer.waitForOutcomes([first.objectWriteTraceId]);
    expect(await redis.pttl(k.landed(OBJECT))).toBeGreaterThan(0);
    sim.revokeToken(TOKEN);
    await producer.enqueue({ objectType: 'contacts', id: '1000', properties: { firstname: 'B' } });
    await waitFor(() => sim.calls().some((c) => c.status === 401), { what: 'the 401' });
    await waitFor(async () => (await redis.hlen(k.inflight)) === 0, { what: 'the batch handed back' });
    expect(await redis.pttl(k.landed(OBJECT)), 'no TTL while an update of the object waits').toBe(-1);
  });
});

describe('leases that expire', () => {
  it('an update taken back from dying workers MAX_ATTEMPTS times fails with LEASE_EXPIRED, with no call made', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('lease-attempts');
    const producer = testProducer(queueName);
    const s = store(queueName);
    const { objectWriteTraceId } = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      properties: { firstname: 'x' },
    });
    await s.ingest(100);
    for (let i = 0; i < 3; i++) {
      const dead = await claimAsDeadWorker(s, queueName);
      expect(await s.beginCall(dead.batchId, 60_000, 0)).toBe(true);
      await dead.expire();
      expect((await s.tick(0)).reclaimed).toBe(1);
    }
    await testWorker(queueName, sim, { maxAttempts: 3, validateProperties: false });
    const [outcome] = await producer.waitForOutcomes([objectWriteTraceId]);
    expect(outcome).toMatchObject({ status: 'failed', attempts: 3, error: { category: 'LEASE_EXPIRED' } });
    expect(sim.calls().filter((c) => c.path.endsWith('/batch/update'))).toEqual([]);
  });

  it('a batch taken back before it called HubSpot costs no attempt and holds nothing', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('lease-no-call');
    const producer = testProducer(queueName);
    const s = store(queueName);
    const { objectWriteTraceId } = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      properties: { firstname: 'x' },
    });
    await s.ingest(100);
    const dead = await claimAsDeadWorker(s, queueName);
    await dead.expire();
    expect((await s.tick(60_000)).reclaimed).toBe(1);
    expect(await testRedis().hlen(queueKeys(queueName).holds)).toBe(0);
    await testWorker(queueName, sim, { validateProperties: false });
    const [outcome] = await producer.waitForOutcomes([objectWriteTraceId]);
    expect(outcome).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('an update whose batches are taken back MAX_ATTEMPTS times before any call fails instead of going round', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('lease-reclaims');
    const producer = testProducer(queueName);
    const s = store(queueName);
    const { objectWriteTraceId } = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      properties: { firstname: 'x' },
    });
    await s.ingest(100);
    for (let i = 0; i < 3; i++) {
      const dead = await claimAsDeadWorker(s, queueName);
      await dead.expire();
      expect((await s.tick(0)).reclaimed).toBe(1);
    }
    await testWorker(queueName, sim, { maxAttempts: 3, validateProperties: false });
    const [outcome] = await producer.waitForOutcomes([objectWriteTraceId]);
    expect(outcome).toMatchObject({ status: 'failed', attempts: 0, error: { category: 'LEASE_EXPIRED' } });
    expect(outcome?.error?.message).toMatch(/taken back 3 times before any HubSpot call/);
    expect(sim.calls().filter((c) => c.path.endsWith('/batch/update'))).toEqual([]);
  });

  it('an account without credentials fails its updates without charging an attempt', async () => {
    const sim = await testSimulator();
    const queueName = testQueue('no-account');
    const producer = testProducer(queueName);
    await testWorker(queueName, sim, { validateProperties: false });
    const { objectWriteTraceId } = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      account: 'nobody',
      properties: { firstname: 'x' },
    });
    const [outcome] = await producer.waitForOutcomes([objectWriteTraceId]);
    expect(outcome).toMatchObject({
      status: 'failed',
      attempts: 0,
      error: { category: 'ACCOUNT_NOT_CONFIGURED' },
    });
  });

  it('an in-flight mark whose batch vanished is repaired, and the object is sent', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('orphan-mark');
    const producer = testProducer(queueName);
    const s = store(queueName);
    const redis = testRedis();
    const { objectWriteTraceId } = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      properties: { firstname: 'x' },
    });
    // A mark left behind by a batch that no longer exists: the object can never be claimed while it stands.
    await redis.hset(queueKeys(queueName).inflight, OBJECT, 'vanished-batch');
    await s.ingest(100);
    expect((await s.tick(0)).repaired).toBe(1);
    await testWorker(queueName, sim, { validateProperties: false });
    const [outcome] = await producer.waitForOutcomes([objectWriteTraceId]);
    expect(outcome?.status).toBe('succeeded');
  });
});
