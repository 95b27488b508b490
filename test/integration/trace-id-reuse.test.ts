import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { fingerprintOfRecord } from '../../src/outcomes/record.js';
import { enqueueKeys, enqueueScript, updateArgs } from '../../src/producer/enqueue-shard.js';
import { canonicalJobData, fingerprint, jobIdFor, parseUpdate, type Update } from '../../src/update.js';
import { QueueStore } from '../../src/worker/store.js';
import { TOKEN, testAdmin, testProducer, testQueue, testSimulator, testWorker } from '../helpers/pipeline.js';
import { redisUrl, testRedis } from '../helpers/resources.js';

const ada = { objectType: 'contacts', id: '801', properties: { firstname: 'Ada', city: 'Paris' } };
const grace = { objectType: 'contacts', id: '801', properties: { firstname: 'Grace' } };

describe('a reused trace id', () => {
  it('is a duplicate for the same update, and a TRACE_ID_CONFLICT for a different one while it is queued', async () => {
    const queue = testQueue('reuse-queued');
    const producer = testProducer(queue);
    const first = await producer.enqueue({ ...ada, objectWriteTraceId: 'r-1' });
    expect(first).toEqual({ objectWriteTraceId: 'r-1', duplicate: false });
    // The same update with its properties in another order is the same update.
    const same = await producer.enqueue({
      objectWriteTraceId: 'r-1',
      properties: { city: 'Paris', firstname: 'Ada' },
      id: '801',
      objectType: 'contacts',
    });
    expect(same).toEqual({ objectWriteTraceId: 'r-1', duplicate: true });

    await expect(producer.enqueue({ ...grace, objectWriteTraceId: 'r-1' })).rejects.toMatchObject({
      name: 'TraceIdConflictError',
      code: 'TRACE_ID_CONFLICT',
      conflicts: [{ index: 0, objectWriteTraceId: 'r-1', usedBy: 'queued' }],
      message: expect.stringMatching(
        /update 0: objectWriteTraceId "r-1" is already used for a different update/,
      ),
    });
    // Nothing of a refused call is enqueued, not even its valid, fresh updates.
    await expect(
      producer.enqueueMany([
        { ...ada, id: '802', objectWriteTraceId: 'r-2' },
        { ...grace, objectWriteTraceId: 'r-1' },
      ]),
    ).rejects.toMatchObject({
      code: 'TRACE_ID_CONFLICT',
      conflicts: [{ index: 1, objectWriteTraceId: 'r-1' }],
    });
    expect(await producer.getOutcome('r-2')).toBeNull();
    const redis = testRedis();
    expect(await redis.hget(queueKeys(queue).stats, 'pending')).toBe('1');
    // The queued update is still the first one.
    const data = await redis.hget(queueKeys(queue).jobPrefix + jobIdFor('r-1'), 'data');
    expect(JSON.parse(data ?? '{}')).toMatchObject({ properties: { firstname: 'Ada', city: 'Paris' } });
  });

  it('is checked against the other updates of the same call', async () => {
    const queue = testQueue('reuse-call');
    const producer = testProducer(queue);
    const results = await producer.enqueueMany([
      { ...ada, objectWriteTraceId: 'c-1' },
      { ...ada, objectWriteTraceId: 'c-1' },
    ]);
    expect(results.map((r) => r.duplicate)).toEqual([false, true]);
    const err = await producer
      .enqueueMany([
        { ...ada, id: '9', objectWriteTraceId: 'c-2' },
        { ...ada, id: '9', objectWriteTraceId: 'c-3' },
        { ...grace, id: '9', objectWriteTraceId: 'c-2' },
      ])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'TRACE_ID_CONFLICT',
      conflicts: [{ index: 2, objectWriteTraceId: 'c-2', usedBy: 0 }],
      enqueued: [],
    });
    expect((err as Error).message).toMatch(/update 2: .*"c-2".*\(by update 0\)/);
    expect(await producer.getOutcomes(['c-2', 'c-3'])).toEqual([null, null]);
  });

  it('is checked against the fingerprint of a finished update, whose job is gone', async () => {
    const sim = await testSimulator();
    const queue = testQueue('reuse-finished');
    sim.createObjects(TOKEN, 'contacts', [{ id: '801', properties: {} }]);
    const producer = testProducer(queue);
    await producer.enqueue({ ...ada, objectWriteTraceId: 'f-1' });
    await testWorker(queue, sim);
    const [outcome] = await producer.waitForOutcomes(['f-1']);
    expect(outcome?.status).toBe('succeeded');
    const redis = testRedis();
    const keys = queueKeys(queue);
    expect(await redis.exists(keys.jobPrefix + jobIdFor('f-1'))).toBe(0);

    // The fingerprint is internal: stored in the record, never handed to users.
    const stored = { fp: fingerprintOfRecord((await redis.get(keys.outcome('f-1'))) ?? '') };
    const update = parseUpdate({ ...ada, objectWriteTraceId: 'f-1' });
    if (!update.ok) throw new Error('fixture');
    expect(stored.fp).toBe(fingerprint(canonicalJobData(update.update)));
    expect(outcome).not.toHaveProperty('fp');
    expect(await producer.getOutcome('f-1')).not.toHaveProperty('fp');

    expect(await producer.enqueue({ ...ada, objectWriteTraceId: 'f-1' })).toEqual({
      objectWriteTraceId: 'f-1',
      duplicate: true,
    });
    await expect(producer.enqueue({ ...grace, objectWriteTraceId: 'f-1' })).rejects.toMatchObject({
      code: 'TRACE_ID_CONFLICT',
      conflicts: [{ index: 0, objectWriteTraceId: 'f-1', usedBy: 'finished' }],
    });
    expect(await redis.exists(keys.jobPrefix + jobIdFor('f-1'))).toBe(0);
    expect(await producer.getOutcome('f-1')).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('is fingerprinted in outcomes an operator writes (fail-account), which readers hand out without it', async () => {
    const queue = testQueue('reuse-operator');
    const keys = queueKeys(queue);
    const redis = testRedis();
    const producer = testProducer(queue);
    await producer.enqueue({ ...ada, objectWriteTraceId: 'op-1' });
    const data = (await redis.hget(keys.jobPrefix + jobIdFor('op-1'), 'data')) ?? '';
    const store = new QueueStore({ redis, keys, outcomeTtlSeconds: 3600 });
    // Filed at enqueue: nothing is left to ingest.
    expect((await store.ingest(10)).moved).toBe(0);
    const admin = testAdmin(queue);
    expect((await admin.failAccount('default', { reason: 'credentials revoked' })).failed).toBe(1);

    const stored = { fp: fingerprintOfRecord((await redis.get(keys.outcome('op-1'))) ?? '') };
    expect(stored.fp).toBe(fingerprint(data));
    const [listed] = await admin.listFailed();
    expect(listed).toMatchObject({ objectWriteTraceId: 'op-1', status: 'failed' });
    expect(listed).not.toHaveProperty('fp');
    expect(await producer.getOutcome('op-1')).not.toHaveProperty('fp');
    // Its job is kept for replay, so a reuse is compared with the job itself.
    expect((await producer.enqueue({ ...ada, objectWriteTraceId: 'op-1' })).duplicate).toBe(true);
    await expect(producer.enqueue({ ...grace, objectWriteTraceId: 'op-1' })).rejects.toMatchObject({
      conflicts: [{ usedBy: 'finished' }],
    });
  });

  it('compares a job another BullMQ client wrote by its canonical form', async () => {
    const queue = testQueue('reuse-bull');
    const keys = queueKeys(queue);
    const bull = new Queue(queue, { connection: { url: redisUrl() }, prefix: keys.bullPrefix });
    try {
      // Fields in another order, no trace id in the data (it comes from the job id), no account.
      await bull.add(
        'update',
        { properties: { city: 'Paris', firstname: 'Ada' }, id: '801', objectType: 'contacts' },
        {
          jobId: 't-b-1',
        },
      );
    } finally {
      await bull.close();
    }
    const producer = testProducer(queue);
    expect(await producer.enqueue({ ...ada, objectWriteTraceId: 'b-1' })).toEqual({
      objectWriteTraceId: 'b-1',
      duplicate: true,
    });
    await expect(producer.enqueue({ ...grace, objectWriteTraceId: 'b-1' })).rejects.toMatchObject({
      code: 'TRACE_ID_CONFLICT',
    });
    expect(
      await producer.checkTraceIds([
        { ...ada, objectWriteTraceId: 'b-1' },
        { ...ada, objectWriteTraceId: 'b-2' },
      ]),
    ).toEqual({
      conflicts: [],
      duplicates: [0],
    });
  });
});

describe('enqueue.lua', () => {
  const script = enqueueScript;

  function valid(trace: string, request: object): Update {
    const parsed = parseUpdate({ ...request, objectWriteTraceId: trace });
    if (!parsed.ok) throw new Error(parsed.issues.join('; '));
    return parsed.update;
  }

  function args(keysPrefix: ReturnType<typeof queueKeys>, updates: Update[]): string[] {
    // No traceparent: the enqueue runs outside any span.
    const out = [...keysPrefix.scriptArgs, '300', '', '0/1'];
    for (const u of updates) {
      const data = canonicalJobData(u);
      out.push(...updateArgs(u, data, ''));
    }
    return out;
  }

  it('returns what its first run returned when run again with the same request id', async () => {
    const queue = testQueue('lua-rerun');
    const keys = queueKeys(queue);
    const redis = testRedis();
    const run = (requestId: string, updates: Update[]) =>
      script.run(redis, enqueueKeys(keys, keys.enqueueResult(requestId)), args(keys, updates));
    const updates = [valid('x-1', ada), valid('x-2', { ...ada, id: '2' })];
    expect(await run('req-1', updates)).toEqual(['ok', 1, 1]);
    // A re-sent call (same request id): the first answer, not "duplicate", and nothing added twice.
    expect(await run('req-1', updates)).toEqual(['ok', 1, 1]);
    expect(await redis.hget(keys.stats, 'pending')).toBe('2');
    // A new call with the same updates is a new request: they are duplicates now.
    expect(await run('req-2', updates)).toEqual(['ok', 0, 0]);
  });

  it('refuses a whole chunk atomically when one update conflicts, naming it and what holds its trace id', async () => {
    const queue = testQueue('lua-conflict');
    const keys = queueKeys(queue);
    const redis = testRedis();
    const run = (requestId: string, updates: Update[]) =>
      script.run(redis, enqueueKeys(keys, keys.enqueueResult(requestId)), args(keys, updates));
    expect(await run('a', [valid('y-1', ada)])).toEqual(['ok', 1]);
    // A finished update: only its outcome record (with its fingerprint) is left.
    await redis.set(keys.outcome('y-9'), JSON.stringify({ status: 'succeeded', fp: '0123456789abcdef' }));
    const reply = await run('b', [
      valid('y-2', { ...ada, id: '2' }),
      valid('y-1', grace),
      valid('y-3', ada),
      valid('y-3', grace),
      valid('y-9', ada),
    ]);
    expect(reply).toEqual(['conflict', 2, 'queued', 4, 'call:3', 5, 'finished']);
    expect(await redis.hget(keys.stats, 'pending')).toBe('1');
    expect(await redis.exists(keys.jobPrefix + jobIdFor('y-2'), keys.jobPrefix + jobIdFor('y-3'))).toBe(0);
  });
});
