import { describe, expect, it } from 'vitest';
import { failWaiting } from '../../src/admin/fail-account.js';
import { queueKeys } from '../../src/keys.js';
import {
  enqueueAsOtherClient,
  TOKEN,
  testAdmin,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
} from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

const REASON = 'customer disconnected';

describe('fail-account fails the account’s jobs still in the wait list', () => {
  it('jobs not yet ingested are failed and taken off the wait list; other accounts keep theirs, in order', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [
      { id: '1000', properties: {} },
      { id: '2000', properties: {} },
    ]);
    const queueName = testQueue('fa-wait');
    const producer = testProducer(queueName);
    const redis = testRedis();
    const k = queueKeys(queueName);
    // Another client's jobs, and no worker yet: every job stays in BullMQ's wait list.
    const [x1, y1, x2, y2] = await enqueueAsOtherClient(queueName, [
      { account: 'gone', objectType: 'contacts', id: '1000', properties: { firstname: 'X1' } },
      { objectType: 'contacts', id: '2000', properties: { firstname: 'Y1' } },
      { account: 'gone', objectType: 'contacts', id: '1000', properties: { firstname: 'X2' } },
      { objectType: 'contacts', id: '2000', properties: { firstname: 'Y2' } },
    ]);
    const admin = testAdmin(queueName, { outcomeTtlSeconds: 600 });

    expect(await admin.failAccount('gone', { dryRun: true })).toEqual({ failed: 2, inFlight: 0 });
    expect(await redis.llen(k.wait), 'a dry run changes nothing').toBe(4);
    const result = await admin.failAccount('gone', { reason: REASON });
    const waiting = await redis.lrange(k.wait, 0, -1);
    const outcomes = await producer.getOutcomes([x1 as string, x2 as string]);
    console.info(`fail-account reported ${JSON.stringify(result)}; wait list ${JSON.stringify(waiting)}`);
    expect(result).toEqual({ failed: 2, inFlight: 0 });
    for (const o of outcomes) {
      expect(o).toMatchObject({
        status: 'failed',
        account: 'gone',
        objectType: 'contacts',
        id: '1000',
        attempts: 0,
        error: { category: 'OPERATOR_FAILED', message: REASON },
      });
    }
    // LPUSHed: the newest on the left. The other account's jobs stay, in their order.
    expect(waiting).toEqual([`t-${y2}`, `t-${y1}`]);
    expect(await redis.hget(k.stats, 'failed:OPERATOR_FAILED')).toBe('2');
    expect(await redis.zcard(k.failed)).toBe(2);
    // Kept for replay, with sequences in enqueue order, so a replay is fenced like the first write.
    const seqs = await Promise.all([x1, x2].map((t) => redis.hget(`${k.jobPrefix}t-${t}`, 'seq')));
    expect(Number(seqs[0])).toBeLessThan(Number(seqs[1]));

    // A worker for both accounts now sends only what is left.
    await testWorker(queueName, sim, {
      accounts: { default: { token: TOKEN }, gone: { token: TOKEN } },
      validateProperties: false,
    });
    await producer.waitForOutcomes([y1 as string, y2 as string]);
    await sim.idle();
    expect(sim.getObject(TOKEN, 'contacts', '1000')?.properties.firstname ?? null).toBeNull();
    expect(sim.getObject(TOKEN, 'contacts', '2000')?.properties.firstname).toBe('Y2');
    expect((await producer.getOutcome(x2 as string))?.status).toBe('failed');
  });

  it('a re-sent request reports its first run; a second request fails nothing more and counts nothing twice', async () => {
    const queueName = testQueue('fa-wait-twice');
    const redis = testRedis();
    const k = queueKeys(queueName);
    const traces = await enqueueAsOtherClient(
      queueName,
      Array.from({ length: 7 }, (_, i) => ({
        account: i % 2 === 0 ? 'gone' : 'kept',
        objectType: 'contacts',
        id: String(1000 + i),
        properties: { firstname: `N${i}` },
      })),
    );
    const admin = testAdmin(queueName, { outcomeTtlSeconds: 600 });
    // Chunks of two jobs: the scan takes several script calls.
    const first = await admin.failAccount('gone', { reason: REASON, requestId: 'req-1', waitChunk: 2 });
    const again = await admin.failAccount('gone', { reason: REASON, requestId: 'req-1', waitChunk: 2 });
    const other = await admin.failAccount('gone', { reason: REASON, waitChunk: 2 });
    expect(first).toEqual({ failed: 4, inFlight: 0 });
    expect(again, 'the same request reports its first run').toEqual(first);
    expect(other.failed).toBe(0);
    expect(await redis.hget(k.stats, 'failed:OPERATOR_FAILED')).toBe('4');
    expect(await redis.zcard(k.failed)).toBe(4);
    expect(await redis.lrange(k.wait, 0, -1)).toEqual([traces[5], traces[3], traces[1]].map((t) => `t-${t}`));
  });

  it('chunks neither skip nor repeat jobs while workers pop the tail and producers push the head', async () => {
    const queueName = testQueue('fa-wait-moving');
    const redis = testRedis();
    const k = queueKeys(queueName);
    const enqueue = (accounts: string[]) =>
      enqueueAsOtherClient(
        queueName,
        accounts.map((account, i) => ({
          account,
          objectType: 'contacts',
          id: `${account}-${i}`,
          properties: { firstname: account },
        })),
      );
    const pattern = [
      'kept',
      'gone',
      'gone',
      'gone',
      'kept',
      'gone',
      'kept',
      'kept',
      'gone',
      'gone',
      'gone',
      'kept',
    ];
    const before = await enqueue(pattern);
    const popped: string[] = [];
    const pushed: string[] = [];
    let failedCount = 0;
    const scan = failWaiting(testRedis(), k, 'gone', { message: REASON, outcomeTtlSeconds: 600, chunk: 2 });
    for await (const n of scan) {
      failedCount += n;
      // Between script calls, a worker ingests the oldest job and a producer adds one of each account.
      popped.push(...((await redis.rpop(k.wait, 1)) ?? []));
      pushed.push(...(await enqueue(['gone', 'kept'])));
    }
    const left = await redis.lrange(k.wait, 0, -1);
    const gone = new Set(before.filter((_, i) => pattern[i] === 'gone').map((t) => `t-${t}`));
    const failed = new Set((await redis.zrange(k.failed, 0, -1)).map((m) => m.split('|')[2]));
    console.info(
      `failed ${failedCount}; popped ${popped.length}, pushed ${pushed.length}, left ${left.length}`,
    );
    // Every job of the account enqueued before the request was failed, or ingested by the worker.
    for (const job of gone) expect(failed.has(job) || popped.includes(job), job).toBe(true);
    expect(
      left.filter((job) => gone.has(job)),
      'none is left in the wait list',
    ).toEqual([]);
    expect(failedCount).toBe(failed.size);
    // Nothing of another account was failed, and no job was lost.
    for (const job of failed)
      expect(job && (gone.has(job) || pushed.map((t) => `t-${t}`).includes(job))).toBe(true);
    expect(left.length + popped.length + failed.size).toBe(before.length + pushed.length);
    expect(await redis.hget(k.stats, 'failed:OPERATOR_FAILED')).toBe(String(failed.size));
  });
});
