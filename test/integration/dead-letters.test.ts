/**
 * The dead-letter index against real Redis: pruning as outcomes expire (with the failure counters that
 * `status` shows), entries of the earlier `jobId|traceId` form, replays that report exactly what they put back,
 * and admin scripts that answer a re-sent call with the first run's result.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { replayMembers } from '../../src/admin/dead-letters.js';
import { createMetrics } from '../../src/metrics.js';
import { deadLetterQueue, operatorFailed, unroutableFailed } from '../helpers/dead-letters.js';
import { testProducer, testQueue, testSimulator, testWorker, waitFor } from '../helpers/pipeline.js';

const HOUR_MS = 3_600_000;

const contacts = (n: number, account = 'default') =>
  Array.from({ length: n }, (_, i) => ({
    account,
    objectType: 'contacts',
    id: String(1000 + i),
    properties: { firstname: `n${i}` },
  }));

async function failures(q: ReturnType<typeof deadLetterQueue>) {
  const status = await q.admin.status();
  return { byCategory: status.failedByCategory };
}

describe('dead-letter index', () => {
  it("a worker's housekeeping prunes dead letters whose outcome expired: status reports no failures and the index is empty", async () => {
    const sim = await testSimulator();
    const queue = testQueue('dl-expire');
    const q = deadLetterQueue(queue, 1);
    const metrics = createMetrics(new Registry());
    await testWorker(queue, sim, { outcomeTtlSeconds: 1, validateProperties: false, metrics });
    // None of these objects exists, so every update fails with OBJECT_NOT_FOUND.
    await testProducer(queue).enqueueMany(contacts(20));

    const failedSoFar = async () =>
      (await metrics.updates.get()).values
        .filter((v) => v.labels.status === 'failed')
        .reduce((n, v) => n + v.value, 0);
    await waitFor(async () => (await failedSoFar()) === 20, { what: '20 failed updates' });
    await waitFor(
      async () => {
        const f = await failures(q);
        return Object.keys(f.byCategory).length === 0 && (await q.redis.zcard(q.keys.failed)) === 0;
      },
      { what: 'no failures left once their outcomes expired' },
    );
    expect(await q.admin.listFailed()).toEqual([]);
  });

  it('removes entries older than the outcome TTL, in either member form, and keeps the live ones', async () => {
    const queue = testQueue('dl-age');
    const q = deadLetterQueue(queue);
    const live = await operatorFailed(queue, q, contacts(2));
    const old = Date.now() - 2 * HOUR_MS;
    // An entry of today's form and one of the earlier form whose record is still there, both past the TTL.
    await q.redis.zadd(q.keys.failed, old, 'old-1|OBJECT_NOT_FOUND|t-old-1', old, 't-old-2|old-2');
    await q.redis.set(
      q.keys.outcome('old-2'),
      JSON.stringify({
        objectWriteTraceId: 'old-2',
        status: 'failed',
        error: { category: 'VALIDATION_ERROR' },
      }),
      'EX',
      3600,
    );
    await q.redis.hincrby(q.keys.stats, 'failed', 2);
    await q.redis.hincrby(q.keys.stats, 'failed:OBJECT_NOT_FOUND', 1);
    await q.redis.hincrby(q.keys.stats, 'failed:VALIDATION_ERROR', 1);
    expect(await failures(q)).toEqual({
      byCategory: { OBJECT_NOT_FOUND: 1, OPERATOR_FAILED: 2, VALIDATION_ERROR: 1 },
    });

    expect(await q.admin.pruneFailed()).toMatchObject({ aged: 2, gone: 0 });
    expect(await failures(q)).toEqual({ byCategory: { OPERATOR_FAILED: 2 } });
    const members = await q.redis.zrange(q.keys.failed, 0, -1);
    expect(members.sort()).toEqual(live.map((t) => `${t}|OPERATOR_FAILED|t-${t}`).sort());
    expect((await q.admin.listFailed()).map((o) => o.objectWriteTraceId).sort()).toEqual([...live].sort());

    // A second pass (or the same script sent again) finds nothing more to do.
    expect(await q.admin.pruneFailed()).toMatchObject({ aged: 0, gone: 0 });
    expect(await failures(q)).toEqual({ byCategory: { OPERATOR_FAILED: 2 } });
  });

  it('removes entries whose outcome record is gone before their time; once the index is empty, counters of unknown category are reset', async () => {
    const queue = testQueue('dl-gone');
    const q = deadLetterQueue(queue);
    const traces = await operatorFailed(queue, q, contacts(2));
    await q.redis.del(...traces.map((t) => q.keys.outcome(t)));
    // An entry of the earlier form whose record is gone: nothing tells its category any more.
    await q.redis.zadd(q.keys.failed, Date.now(), 't-legacy|legacy');
    await q.redis.hincrby(q.keys.stats, 'failed', 1);
    await q.redis.hincrby(q.keys.stats, 'failed:OBJECT_NOT_FOUND', 1);

    expect(await q.admin.pruneFailed()).toMatchObject({ aged: 0, gone: 3 });
    expect(await q.redis.zcard(q.keys.failed)).toBe(0);
    expect(await failures(q)).toEqual({ byCategory: {} });
  });

  it('does bounded work per pass and walks the whole index over successive passes', async () => {
    const queue = testQueue('dl-bounded');
    const q = deadLetterQueue(queue);
    const old = Date.now() - 2 * HOUR_MS;
    const args: Array<string | number> = [];
    for (let i = 0; i < 1200; i++) args.push(old, `aged-${i}|OBJECT_NOT_FOUND|t-aged-${i}`);
    for (let i = 0; i < 250; i++) args.push(Date.now(), `gone-${i}|CONFLICT|t-gone-${i}`);
    await q.redis.zadd(q.keys.failed, ...args);
    await q.redis.hset(q.keys.stats, 'failed', 1450, 'failed:OBJECT_NOT_FOUND', 1200, 'failed:CONFLICT', 250);

    const passes = [];
    for (let i = 0; i < 3; i++) passes.push(await q.admin.pruneFailed());
    expect(passes.map((p) => p.aged)).toEqual([500, 500, 200]);
    expect(passes.map((p) => p.gone)).toEqual([100, 100, 50]);
    expect(await q.redis.zcard(q.keys.failed)).toBe(0);
    expect(await failures(q)).toEqual({ byCategory: {} });
  });

  it('lists and replays entries of the earlier jobId|traceId form, taking them off the counter their record names', async () => {
    const queue = testQueue('dl-legacy');
    const q = deadLetterQueue(queue);
    const [legacy, current] = await operatorFailed(queue, q, contacts(2));
    // Rewrite one member the way earlier versions wrote it.
    await q.redis.zrem(q.keys.failed, `${legacy}|OPERATOR_FAILED|t-${legacy}`);
    await q.redis.zadd(q.keys.failed, Date.now(), `t-${legacy}|${legacy}`);

    expect((await q.admin.listFailed()).map((o) => o.objectWriteTraceId).sort()).toEqual(
      [legacy, current].sort(),
    );
    expect((await q.admin.retryFailed({ account: 'default' })).sort()).toEqual([legacy, current].sort());
    expect(await q.redis.zcard(q.keys.failed)).toBe(0);
    expect(await failures(q)).toEqual({ byCategory: {} });
    expect((await q.redis.lrange(q.keys.wait, 0, -1)).sort()).toEqual([`t-${legacy}`, `t-${current}`].sort());
  });

  it('a replay reports only the updates it put back, not every member of its chunk', async () => {
    const queue = testQueue('dl-chunk');
    const q = deadLetterQueue(queue);
    const [replayable] = await operatorFailed(queue, q, contacts(1));
    const unroutable = await unroutableFailed(q, 'no-object');
    expect((await q.admin.listFailed()).map((o) => o.objectWriteTraceId).sort()).toEqual(
      [replayable, unroutable].sort(),
    );

    expect(await q.admin.retryFailed()).toEqual([replayable]);
    // The unroutable update stays a dead letter, still counted.
    expect((await q.admin.listFailed()).map((o) => o.objectWriteTraceId)).toEqual([unroutable]);
    expect(await failures(q)).toEqual({ byCategory: { VALIDATION_ERROR: 1 } });
  });

  it('a replay sent twice with the same request id puts each update back once and reports the same ids', async () => {
    const queue = testQueue('dl-rerun');
    const q = deadLetterQueue(queue);
    const traces = await operatorFailed(queue, q, contacts(3));
    const members = await q.redis.zrange(q.keys.failed, 0, -1);

    const dry = await replayMembers(q.redis, q.keys, members, { dryRun: true, requestId: 'dry' });
    expect(dry.sort()).toEqual([...traces].sort());
    expect(await q.redis.zcard(q.keys.failed)).toBe(3);
    expect(await q.redis.llen(q.keys.wait)).toBe(0);

    const first = await replayMembers(q.redis, q.keys, members, { requestId: 'req-1' });
    const again = await replayMembers(q.redis, q.keys, members, { requestId: 'req-1' });
    expect(first.sort()).toEqual([...traces].sort());
    expect(again.sort()).toEqual(first);
    expect(await q.redis.llen(q.keys.wait)).toBe(3);
    expect(await failures(q)).toEqual({ byCategory: {} });
    // A new request finds nothing left to replay.
    expect(await replayMembers(q.redis, q.keys, members, { requestId: 'req-2' })).toEqual([]);
  });

  it('fail-account sent twice with the same request id fails each update once and reports the same count', async () => {
    const queue = testQueue('dl-fail-rerun');
    const q = deadLetterQueue(queue);
    await testProducer(queue).enqueueMany([...contacts(2, 'a'), ...contacts(1, 'b')]);
    await q.store.ingest(100);

    expect((await q.admin.failAccount('a', { reason: 'revoked', dryRun: true })).failed).toBe(2);
    expect(await q.redis.hget(q.keys.stats, 'pending')).toBe('3');
    expect(await q.redis.zcard(q.keys.failed)).toBe(0);

    expect((await q.admin.failAccount('a', { reason: 'revoked', requestId: 'fa-1' })).failed).toBe(2);
    expect((await q.admin.failAccount('a', { reason: 'revoked', requestId: 'fa-1' })).failed).toBe(2);
    expect(await failures(q)).toEqual({ byCategory: { OPERATOR_FAILED: 2 } });
    expect(await q.redis.hget(q.keys.stats, 'pending')).toBe('1');
    expect((await q.admin.failAccount('a', { reason: 'revoked', requestId: 'fa-2' })).failed).toBe(0);
  });
});
