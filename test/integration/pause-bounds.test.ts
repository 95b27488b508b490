import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import { queueKeys } from '../../src/keys.js';
import type { AccountBudget } from '../../src/ratelimit/budget.js';
import { RateLimiter } from '../../src/ratelimit/limiter.js';
import { CallDemand } from '../../src/worker/demand.js';
import { MetricLabels } from '../../src/worker/labels.js';
import { heldPauseBoundMs, schemaFetchGate } from '../../src/worker/pauses.js';
import type { PreparedBatch } from '../../src/worker/prepare.js';
import { runBatch } from '../../src/worker/run-batch.js';
import { SchemaCache } from '../../src/worker/schema-cache.js';
import { sendBatch } from '../../src/worker/send.js';
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
import { onCleanup, testRedis, track } from '../helpers/resources.js';

const BUDGET: AccountBudget = { maxRequests: 100, windowMs: 10_000 };

function client(url: string) {
  const c = createHubSpotClient({ baseUrl: url, tokenProvider: async () => TOKEN });
  const closed = track('client');
  onCleanup(() => {
    c.close();
    closed();
  });
  return c;
}

const rateLimited = (policyName: string) => ({
  status: 'error',
  message: `You have reached your ${policyName.toLowerCase()} limit.`,
  errorType: 'RATE_LIMIT',
  policyName,
});

describe('no batch holds its claim through a long pause', () => {
  it('a batch answered 429 goes back to the queue instead of waiting out the pause in its slot: another account’s update goes through meanwhile', async () => {
    const sim = await testSimulator({ autoCreate: true });
    sim.failNext(1, 'status', {
      status: 429,
      body: rateLimited('TEN_SECONDLY_ROLLING'),
      headers: { 'Retry-After': '8' },
      portal: 'tok-a',
    });
    const queue = testQueue('held-429');
    const producer = testProducer(queue);
    // One slot, and a lease long enough that the old bound (half the lease) would have held the batch 8 s.
    await testWorker(queue, sim, {
      accounts: { a: { token: 'tok-a' }, b: { token: 'tok-b' } },
      concurrency: 1,
      leaseMs: 20_000,
      validateProperties: false,
    });
    const [a] = await producer.enqueueMany([
      { account: 'a', objectType: 'contacts', id: '1', properties: { firstname: 'A' } },
    ]);
    await waitFor(() => sim.calls().some((c) => c.portal === 'tok-a' && c.status === 429), {
      what: "account a's 429",
    });
    const [b] = await producer.enqueueMany([
      { account: 'b', objectType: 'contacts', id: '2', properties: { firstname: 'B' } },
    ]);
    const [bDone] = await producer.waitForOutcomes([b?.objectWriteTraceId as string], { timeoutMs: 20_000 });
    expect(bDone).toMatchObject({ status: 'succeeded', attempts: 1 });
    const limiter = new RateLimiter({ redis: testRedis(), keys: queueKeys(queue) });
    // b went out while a was still paused: a's batch had freed the only slot.
    expect(await limiter.state('a')).toMatchObject({ paused: true, pauseReason: 'rate_limit' });
    expect(await producer.getOutcome(a?.objectWriteTraceId as string)).toMatchObject({ status: 'queued' });

    await limiter.resume('a');
    const [aDone] = await producer.waitForOutcomes([a?.objectWriteTraceId as string], { timeoutMs: 20_000 });
    // Handed back, not retried: no attempt spent, and nothing claimed for a while it was paused.
    expect(aDone).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(
      sim
        .calls()
        .filter((c) => c.portal === 'tok-a')
        .map((c) => c.status),
    ).toEqual([429, 200]);
  });

  it('a schema fetch does not wait out a long pause: the claimed batch goes back to the queue, where fail-account reaches it', async () => {
    const sim = await testSimulator({ autoCreate: true });
    const queue = testQueue('held-schema');
    const redis = testRedis();
    const keys = queueKeys(queue);
    const store = new QueueStore({ redis, keys, outcomeTtlSeconds: 3600 });
    const limiter = new RateLimiter({ redis, keys });
    const port = client(sim.url);
    const schemas = new SchemaCache({
      port,
      ttlMs: 600_000,
      // What the worker wires in.
      beforeFetch: schemaFetchGate(limiter, () => BUDGET, heldPauseBoundMs(5_000)),
    });
    const producer = testProducer(queue);
    const [r] = await producer.enqueueMany([
      { objectType: 'contacts', id: '7', properties: { firstname: 'Grace' } },
    ]);
    await store.ingest(10);
    const batchId = randomUUID();
    const claim = await store.claim({
      group: 'default|contacts',
      batchId,
      workerId: 'test',
      leaseMs: 5_000,
      maxObjects: 100,
      minObjects: 1,
      lingerMs: 0,
      maxUpdatesPerObject: 200,
      maxUpdates: 1000,
    });
    if (claim.kind !== 'ok') throw new Error(`nothing claimed (${claim.kind})`);
    // The account is paused after the batch was claimed: its credentials were refused for an hour.
    await limiter.pause('default', { durationMs: 3_600_000, reason: 'auth', detail: 'credentials refused' });

    await runBatch(
      {
        port,
        store,
        limiter,
        schemas,
        logger: pino({ level: 'silent' }),
        labels: new MetricLabels(['default']),
        demand: new CallDemand(),
        validateProperties: true,
        leaseMs: 5_000,
        ambiguousHoldMs: 1_000,
        httpTimeoutMs: 30_000,
        authPauseMs: 60_000,
        maxAttempts: 10,
        backoffBaseMs: 50,
        backoffMaxMs: 500,
      },
      {
        group: 'default|contacts',
        batchId,
        objects: claim.objects,
        budget: BUDGET,
        signal: new AbortController().signal,
      },
    );
    expect(sim.calls()).toEqual([]);
    expect(await redis.hget(keys.stats, 'inflight')).toBe('0');
    expect(await redis.lrange(keys.objectUpdates('default|contacts||7'), 0, -1)).toEqual([
      expect.stringMatching(/^\d+:\d+:0:/),
    ]);
    expect(await producer.getOutcome(r?.objectWriteTraceId as string)).toMatchObject({ status: 'queued' });
    expect((await testAdmin(queue).failAccount('default', { reason: 'credentials revoked' })).failed).toBe(1);

    // A paused fetch is not remembered as a missing schema: once the pause is over, the schema is read.
    await limiter.resume('default');
    expect(await schemas.validatorFor('default', 'contacts', new AbortController().signal)).toBeTypeOf(
      'function',
    );
    expect(sim.calls().map((c) => c.path)).toEqual(['/crm/properties/2026-03/contacts']);
  });
});

describe('429 pauses', () => {
  it('pauses a tenth of the window after a SECONDLY 429 without Retry-After', async () => {
    const sim = await testSimulator({ autoCreate: true });
    sim.failNext(1, 'status', { status: 429, body: rateLimited('SECONDLY') });
    const queue = testQueue('secondly');
    const limiter = new RateLimiter({ redis: testRedis(), keys: queueKeys(queue) });
    const batch: PreparedBatch = {
      account: 'default',
      objectType: 'contacts',
      group: 'default|contacts',
      inputs: [
        {
          input: { id: '1', properties: { firstname: 'Ada' }, objectWriteTraceId: 't-1' },
          objectKey: 'default|contacts||1',
          members: [],
          sequences: {},
        },
      ],
      early: [],
      merged: 0,
    };
    const pauses: Array<{ reason: string; ms: number; policyName?: string }> = [];
    const fates = await sendBatch(batch, {
      port: client(sim.url),
      budget: {
        waitForGrant: (a, b, sig) => limiter.waitForGrant(a, b, sig, { maxPauseMs: 1_000 }),
        report: (a, g, snapshot, b, call) => limiter.report(a, g, snapshot, b, call),
        pause: (a, options) => limiter.pause(a, options),
        departed: (a, g, sentAt) => limiter.departed(a, g, sentAt),
      },
      accountBudget: BUDGET,
      signal: new AbortController().signal,
      maxInlinePauseMs: 1_000,
      authPauseMs: 60_000,
      events: {
        onPause: ({ reason, ms, policyName }) =>
          pauses.push({ reason, ms, ...(policyName ? { policyName } : {}) }),
      },
    });
    expect(pauses).toEqual([{ reason: 'rate_limit', ms: 1_000, policyName: 'SECONDLY' }]);
    // A second's pause is waited out holding the batch, and the call then goes through.
    expect(fates.get(0)?.kind).toBe('succeeded');
  });
});
