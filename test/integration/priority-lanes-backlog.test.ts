/**
 * Priority lanes ahead of a backlog: an interactive update enqueued behind a bulk backlog goes out in one of the
 * first calls (the producer files it in its group's interactive zset at once), and fencing still follows the
 * enqueue order (the producer numbers updates at enqueue). Jobs that wait on the wait lists (other clients', or
 * those an earlier version of this producer put on the interactive wait list) are taken in by ingest, the
 * interactive wait list first, whichever of an object's updates comes in first.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { CHECKED_JOB_NAME, parseEntry, type QueueKeys, queueKeys } from '../../src/keys.js';
import type { Simulator } from '../../src/simulator/index.js';
import type { UpdateRequest } from '../../src/update.js';
import { QueueStore } from '../../src/worker/store.js';
import {
  testAdmin,
  testBullQueue,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
} from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

/** 20 calls per second, on both sides: the simulator's portals and the worker's budget. */
const RATE = { maxRequests: 20, windowMs: 1000 };

function filler(n: number, from = 1): UpdateRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    account: 'a',
    objectType: 'contacts',
    id: String(from + i),
    properties: { city: `bulk-${from + i}` },
  }));
}

function traceOf(r: { objectWriteTraceId: string } | undefined): string {
  if (!r) throw new Error('enqueue answered nothing');
  return r.objectWriteTraceId;
}

/** The 1-based position of the call that carried a trace id. */
function carrierOf(sim: Simulator, trace: string): number {
  const call = sim.calls().find((c) => c.status === 200 && c.traceIds.includes(trace));
  if (!call) throw new Error(`no call carried ${trace}`);
  return call.seq;
}

async function startWorker(queue: string, sim: Simulator): Promise<void> {
  await testWorker(queue, sim, { accounts: { a: { token: 'tok-a', ...RATE } }, validateProperties: false });
}

/** A job as an earlier version of this producer enqueued it: numbered at enqueue, left on a wait list for ingest. */
async function enqueueAsEarlierProducer(
  redis: Redis,
  keys: QueueKeys,
  update: UpdateRequest,
  interactive: boolean,
): Promise<string> {
  const trace = randomUUID();
  const seq = await redis.incr(keys.seq);
  const [seconds, micros] = await redis.time();
  await redis.hset(keys.job(`t-${trace}`), {
    name: CHECKED_JOB_NAME,
    data: JSON.stringify({ ...update, objectWriteTraceId: trace }),
    timestamp: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000),
    seq,
  });
  await redis.lpush(interactive ? keys.interactiveWait : keys.wait, `t-${trace}`);
  return trace;
}

describe('priority lanes ahead of a backlog', () => {
  it('an interactive update enqueued behind 20,000 bulk updates goes out in one of the first calls', async () => {
    const sim = await testSimulator({ defaultRateLimit: RATE });
    sim.createObjects(
      'tok-a',
      'contacts',
      Array.from({ length: 20_001 }, (_, i) => ({ id: String(i + 1), properties: {} })),
    );
    const queue = testQueue('lanes-backlog');
    const producer = testProducer(queue);
    const backlog = (await producer.enqueueMany(filler(20_000))).map(traceOf);
    const urgent = traceOf(
      await producer.enqueue({
        account: 'a',
        objectType: 'contacts',
        id: '20001',
        properties: { city: 'now' },
        priority: 'interactive',
      }),
    );
    // The worker starts with the whole backlog queued.
    await startWorker(queue, sim);
    const [outcome] = await producer.waitForOutcomes([urgent], { timeoutMs: 20_000 });
    expect(outcome).toMatchObject({ status: 'succeeded', priority: 'interactive' });
    // Taken in order, the backlog would have held it back for 200 calls' worth of bulk updates.
    expect(carrierOf(sim, urgent)).toBeLessThanOrEqual(2);
    expect(sim.getObject('tok-a', 'contacts', '20001')?.properties.city).toBe('now');
    // The rest of the backlog is not this test's business: failed, so every batch has settled when it ends.
    await testAdmin(queue).failAccount('a');
    const done = await producer.waitForOutcomes(backlog, { timeoutMs: 30_000 });
    expect(done.filter((o) => o.status !== 'succeeded' && o.status !== 'failed')).toEqual([]);
  });

  it('an older bulk update ingested after a newer interactive one of its object is listed, and claimed, before it', async () => {
    const queue = testQueue('lanes-order');
    const keys = queueKeys(queue);
    const redis = testRedis();
    const store = new QueueStore({ redis, keys, outcomeTtlSeconds: 3600 });
    const seven = { account: 'a', objectType: 'contacts', id: '7' };
    const bulk = await enqueueAsEarlierProducer(
      redis,
      keys,
      { ...seven, properties: { city: 'old' } },
      false,
    );
    const urgent = await enqueueAsEarlierProducer(
      redis,
      keys,
      { ...seven, properties: { city: 'new' }, priority: 'interactive' },
      true,
    );
    // One job per call: the interactive wait list is read first, then BullMQ's.
    const objectKey = 'a|contacts||7';
    const listed = async () =>
      (await redis.lrange(keys.objectUpdates(objectKey), 0, -1)).map((e) => parseEntry(e).jobId);
    // Ingest says how many of the moved were interactive: the loop claims them before ingesting further.
    expect(await store.ingest(1)).toMatchObject({ moved: 1, waiting: 1, interactive: 1 });
    expect(await listed()).toEqual([`t-${urgent}`]);
    expect(await store.ingest(1)).toMatchObject({ moved: 1, waiting: 0, interactive: 0 });
    expect(await listed()).toEqual([`t-${bulk}`, `t-${urgent}`]);
    const entries = (await redis.lrange(keys.objectUpdates(objectKey), 0, -1)).map(parseEntry);
    const [older, newer] = entries;
    expect(older?.seq).toBeLessThan(newer?.seq ?? 0);
    expect(newer?.interactive).toBe(true);
    // The object's pending score is its oldest update's enqueue time, though that update came in second.
    const job = await redis.hget(keys.job(`t-${bulk}`), 'timestamp');
    expect(await redis.zscore(keys.pending('a|contacts'), objectKey)).toBe(job);
  });

  it("one counter numbers this producer's updates at enqueue and another client's at ingest, in enqueue order", async () => {
    const queue = testQueue('lanes-counter');
    const keys = queueKeys(queue);
    const redis = testRedis();
    const producer = testProducer(queue);
    const store = new QueueStore({ redis, keys, outcomeTtlSeconds: 3600 });
    const update = (id: string) => ({ account: 'a', objectType: 'contacts', id, properties: { city: id } });
    const first = traceOf(await producer.enqueue(update('1')));
    await testBullQueue(queue).add('update', update('2'), { jobId: 'foreign-2' });
    const third = traceOf(await producer.enqueue({ ...update('3'), priority: 'interactive' }));
    // Numbered at enqueue: the producer's jobs carry theirs.
    const firstSeq = Number(await redis.hget(keys.job(`t-${first}`), 'seq'));
    const thirdSeq = Number(await redis.hget(keys.job(`t-${third}`), 'seq'));
    expect(thirdSeq).toBe(firstSeq + 1);
    expect(await redis.hget(keys.job('foreign-2'), 'seq')).toBeNull();
    // The producer's were filed at enqueue: ingest takes in the other client's only.
    expect(await store.ingest(10)).toMatchObject({ moved: 1, waiting: 0 });
    const seqOf = async (id: string) =>
      parseEntry((await redis.lindex(keys.objectUpdates(`a|contacts||${id}`), 0)) ?? '').seq;
    expect(await seqOf('1')).toBe(firstSeq);
    expect(await seqOf('3')).toBe(thirdSeq);
    // The other client's job takes its number at ingest, from the same counter: after every number given so far.
    expect(await seqOf('2')).toBeGreaterThan(thirdSeq);
    const fourth = traceOf(await producer.enqueue(update('4')));
    expect(Number(await redis.hget(keys.job(`t-${fourth}`), 'seq'))).toBeGreaterThan(await seqOf('2'));
  });

  it('older bulk updates of its object go out with a newer interactive update and lose to it where they overlap', async () => {
    const sim = await testSimulator({ defaultRateLimit: RATE });
    sim.createObjects(
      'tok-a',
      'contacts',
      Array.from({ length: 6_001 }, (_, i) => ({ id: String(i + 1), properties: {} })),
    );
    const queue = testQueue('lanes-fence-ahead');
    const producer = testProducer(queue);
    // Behind a backlog: the object's bulk updates wait in its list when its interactive update takes it out.
    const backlog = (await producer.enqueueMany(filler(6_000))).map(traceOf);
    const [cityOnly, withName] = (
      await producer.enqueueMany([
        { account: 'a', objectType: 'contacts', id: '6001', properties: { city: 'bulk-1' } },
        {
          account: 'a',
          objectType: 'contacts',
          id: '6001',
          properties: { city: 'bulk-2', firstname: 'Bea' },
        },
      ])
    ).map(traceOf);
    const urgent = traceOf(
      await producer.enqueue({
        account: 'a',
        objectType: 'contacts',
        id: '6001',
        properties: { city: 'now' },
        priority: 'interactive',
      }),
    );
    await startWorker(queue, sim);
    const outcomes = await producer.waitForOutcomes([urgent, cityOnly ?? '', withName ?? '', ...backlog], {
      timeoutMs: 40_000,
    });
    expect(carrierOf(sim, urgent)).toBeLessThanOrEqual(2);
    const [u, c, w] = outcomes;
    expect(u).toMatchObject({ status: 'succeeded', priority: 'interactive' });
    expect(c).toMatchObject({ status: 'superseded' });
    expect(w).toMatchObject({ status: 'succeeded' });
    expect(outcomes.slice(3).every((o) => o.status === 'succeeded')).toBe(true);
    await sim.idle();
    // The interactive update was enqueued last: its value stands; the bulk update's other property landed too.
    expect(sim.getObject('tok-a', 'contacts', '6001')?.properties).toMatchObject({
      city: 'now',
      firstname: 'Bea',
    });
  });

  it('a bulk update enqueued after an interactive one of the same property goes out with it, in one of the first calls, and wins', async () => {
    const sim = await testSimulator({ defaultRateLimit: RATE });
    sim.createObjects(
      'tok-a',
      'contacts',
      Array.from({ length: 6_001 }, (_, i) => ({ id: String(i + 1), properties: {} })),
    );
    const queue = testQueue('lanes-fence-behind');
    const producer = testProducer(queue);
    const backlog = (await producer.enqueueMany(filler(6_000))).map(traceOf);
    const urgent = traceOf(
      await producer.enqueue({
        account: 'a',
        objectType: 'contacts',
        id: '6001',
        properties: { city: 'now' },
        priority: 'interactive',
      }),
    );
    const later = traceOf(
      await producer.enqueue({
        account: 'a',
        objectType: 'contacts',
        id: '6001',
        properties: { city: 'later' },
      }),
    );
    await startWorker(queue, sim);
    const outcomes = await producer.waitForOutcomes([urgent, later, ...backlog], { timeoutMs: 40_000 });
    // Both wait in the object's list when its interactive update takes it out: one input, the newer value.
    expect(carrierOf(sim, later)).toBeLessThanOrEqual(2);
    expect(outcomes[0]).toMatchObject({ status: 'superseded', priority: 'interactive' });
    expect(outcomes[1]).toMatchObject({ status: 'succeeded' });
    expect(outcomes.slice(2).every((o) => o.status === 'succeeded')).toBe(true);
    await sim.idle();
    expect(sim.getObject('tok-a', 'contacts', '6001')?.properties.city).toBe('later');
  });

  it('fail-account fails the interactive updates still in their wait list', async () => {
    const queue = testQueue('lanes-fail');
    const keys = queueKeys(queue);
    const redis = testRedis();
    const producer = testProducer(queue);
    const urgent = await enqueueAsEarlierProducer(
      redis,
      keys,
      { account: 'a', objectType: 'contacts', id: '1', properties: { city: 'x' }, priority: 'interactive' },
      true,
    );
    expect(await redis.llen(keys.interactiveWait)).toBe(1);
    expect((await testAdmin(queue).failAccount('a', { reason: 'revoked' })).failed).toBe(1);
    expect(await redis.llen(keys.interactiveWait)).toBe(0);
    const [outcome] = await producer.getOutcomes([urgent]);
    expect(outcome).toMatchObject({ status: 'failed', error: { category: 'OPERATOR_FAILED' } });
  });
});
