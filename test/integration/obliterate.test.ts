/**
 * Obliterating a queue against real Redis: every key of the queue goes, whoever wrote it (producer, worker,
 * BullMQ, operator commands, the rate limiter), and no key of another queue, even one whose name a glob pattern
 * would confuse with it. It refuses while a worker of the queue is alive unless forced; the CLI wants `--yes`;
 * on a Redis Cluster the queue's keys go whichever master holds them.
 */
import type { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ObliterateRefusedError } from '../../src/admin/obliterate.js';
import { createQueueAdmin } from '../../src/admin/queue-admin.js';
import { objectKeyOf, queueKeys } from '../../src/keys.js';
import { createProducer } from '../../src/producer/producer.js';
import { RateLimiter } from '../../src/ratelimit/limiter.js';
import { connectRedis } from '../../src/redis.js';
import { startLocalCluster } from '../helpers/cluster.js';
import {
  runCli,
  TOKEN,
  testAdmin,
  testBullQueue,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';
import { cleanupQueue, onCleanup, testRedis, track, uniqueQueueName } from '../helpers/resources.js';

const update = (id: string, firstname = `n${id}`) => ({
  objectType: 'contacts',
  id,
  properties: { firstname },
});

/** Every key of the queue, read independently of the admin: all keys, kept when they start with its root. */
async function keysOf(redis: Redis, queueName: string): Promise<string[]> {
  const root = queueKeys(queueName).root;
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) if (key.startsWith(root)) found.add(key);
  } while (cursor !== '0');
  return [...found].sort();
}

describe('obliterate', () => {
  it('deletes every key of its queue, whoever wrote it, and nothing of a queue a glob would confuse with it', async () => {
    const base = uniqueQueueName('obl');
    // Unescaped, `[ab]` in a MATCH pattern would also match the other queue's keys.
    const target = `${base}-[ab]`;
    const other = `${base}-a`;
    cleanupQueue(target);
    cleanupQueue(other);
    const redis = testRedis();
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1', properties: {} }]);

    // The target queue as a run leaves it: outcomes, a dead letter with its job, fences, counters, the rate
    // budget and a pause, a stranded BullMQ job and an update still waiting.
    const worker = await testWorker(target, sim, { validateProperties: false });
    const producer = testProducer(target);
    const done = await producer.enqueueMany([update('1'), update('404')]);
    await producer.waitForOutcomes(done.map((r) => r.objectWriteTraceId));
    await worker.close();
    await new RateLimiter({ redis, keys: queueKeys(target) }).pause('default', {
      durationMs: 60_000,
      reason: 'manual',
    });
    await testBullQueue(target).add('update', update('2'), { jobId: 't-later', delay: 3_600_000 });
    await producer.enqueue(update('3'));
    // The other queue: waiting updates and a stranded job of its own.
    await testProducer(other).enqueueMany([update('1'), update('2')]);
    await testBullQueue(other).add('update', update('3'), { jobId: 't-later', delay: 3_600_000 });

    const k = queueKeys(target);
    const targetKeys = await keysOf(redis, target);
    const outcome = (await producer.getOutcomes(done.map((r) => r.objectWriteTraceId))).find(
      (o) => o?.status === 'failed',
    );
    for (const key of [
      k.objectUpdates(objectKeyOf('default', 'contacts', '', '3')),
      k.stats,
      k.failed,
      k.outcome(done[0]?.objectWriteTraceId ?? ''),
      `${k.jobPrefix}t-${outcome?.objectWriteTraceId}`,
      k.rate('default').state,
      `${k.jobPrefix}delayed`,
    ]) {
      expect(targetKeys, key).toContain(key);
    }
    const otherKeys = await keysOf(redis, other);
    expect(otherKeys.length).toBeGreaterThan(3);

    const admin = testAdmin(target);
    expect(await admin.obliterate({ dryRun: true })).toEqual({ keys: targetKeys.length, liveWorkers: [] });
    expect(await keysOf(redis, target)).toEqual(targetKeys);

    expect(await admin.obliterate()).toEqual({ keys: targetKeys.length, liveWorkers: [] });
    expect(await keysOf(redis, target)).toEqual([]);
    expect(await keysOf(redis, other)).toEqual(otherKeys);
    // Nothing of it is left to report.
    expect(await admin.status()).toMatchObject({
      depth: { waiting: 0, pending: 0, inflight: 0, delayed: 0, invalid: 0 },
      stranded: { total: 0 },
      failedByCategory: {},
      outcomes: { succeeded: 0, failed: 0, superseded: 0 },
    });
  });

  it('refuses while a worker of the queue is alive, naming it and deleting nothing; force deletes anyway', async () => {
    const sim = await testSimulator();
    const queue = testQueue('obl-live');
    const redis = testRedis();
    const admin = testAdmin(queue);
    const producer = testProducer(queue);
    const { objectWriteTraceId } = await producer.enqueue(update('1'));
    await testWorker(queue, sim, { validateProperties: false });
    // Settled first: what the worker does next (heartbeats) writes nothing the checks below look at.
    await producer.waitForOutcomes([objectWriteTraceId]);
    await waitFor(async () => (await admin.status()).workers.alive === 1, { what: 'the worker registered' });
    const [id] = (await admin.status()).workers.ids;
    const before = (await keysOf(redis, queue)).length;

    const refused = await admin.obliterate().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ObliterateRefusedError);
    expect(refused).toMatchObject({ code: 'OBLITERATE_REFUSED', reason: 'live-workers', liveWorkers: [id] });
    expect((refused as Error).message).toContain(String(id));
    expect(await admin.obliterate({ dryRun: true }).catch((err: unknown) => err)).toBeInstanceOf(
      ObliterateRefusedError,
    );
    expect((await keysOf(redis, queue)).length).toBe(before);

    const forced = await admin.obliterate({ force: true });
    expect(forced.liveWorkers).toEqual([id]);
    expect(forced.keys).toBeGreaterThan(0);
    expect(await redis.exists(queueKeys(queue).stats, queueKeys(queue).outcome(objectWriteTraceId))).toBe(0);
  });

  it('is not held back by a worker whose heartbeat stopped (killed without a clean shutdown)', async () => {
    const queue = testQueue('obl-stale');
    const redis = testRedis();
    const keys = queueKeys(queue);
    await testProducer(queue).enqueue(update('1'));
    await redis.zadd(keys.workers, Date.now() - 60_000, 'killed-worker');

    const r = await testAdmin(queue).obliterate();
    expect(r.liveWorkers).toEqual([]);
    expect(r.keys).toBeGreaterThanOrEqual(2);
    expect(await keysOf(redis, queue)).toEqual([]);
  });

  it('refuses a queue name with a brace, whose keys another queue could share', async () => {
    const redis = testRedis();
    const refused = await createQueueAdmin({ redis, queueName: 'a}:b' })
      .obliterate()
      .catch((err: unknown) => err);
    expect(refused).toMatchObject({ code: 'OBLITERATE_REFUSED', reason: 'queue-name' });
  });

  it('the CLI asks for --yes (exit 64), refuses while a worker is alive (exit 1) unless --force, and prints what it deleted', async () => {
    const sim = await testSimulator();
    const redis = testRedis();
    const idle = testQueue('obl-cli');
    await testProducer(idle).enqueueMany([update('1'), update('2')]);
    const idleKeys = await keysOf(redis, idle);

    for (const args of [[], ['--force'], ['--yes', '--dry-run'], ['--yes', '--forse'], ['--yes', 'now']]) {
      const res = await runCli(['obliterate', ...args], { QUEUE_NAME: idle });
      expect(res.code, args.join(' ')).toBe(64);
      expect(res.stderr).toContain('usage: hubspot-batch-queue obliterate');
    }
    expect((await runCli(['obliterate'], { QUEUE_NAME: idle })).stderr).toContain('confirm with --yes');
    expect(await keysOf(redis, idle)).toEqual(idleKeys);

    const dry = await runCli(['obliterate', '--dry-run'], { QUEUE_NAME: idle });
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({ queue: idle, dryRun: true, wouldDelete: idleKeys.length });
    const real = await runCli(['obliterate', '--yes'], { QUEUE_NAME: idle });
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout)).toEqual({ queue: idle, deleted: idleKeys.length });
    expect(await keysOf(redis, idle)).toEqual([]);

    const busy = testQueue('obl-cli-busy');
    const admin = testAdmin(busy);
    const producer = testProducer(busy);
    const { objectWriteTraceId } = await producer.enqueue(update('1'));
    await testWorker(busy, sim, { validateProperties: false });
    await producer.waitForOutcomes([objectWriteTraceId]);
    await waitFor(async () => (await admin.status()).workers.alive === 1, { what: 'the worker registered' });
    const [id] = (await admin.status()).workers.ids;
    const refused = await runCli(['obliterate', '--yes'], { QUEUE_NAME: busy });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('nothing deleted');
    expect(refused.stderr).toContain(String(id));
    expect(refused.stderr).toContain('--force');
    expect(await redis.exists(queueKeys(busy).stats)).toBe(1);
    const forced = await runCli(['obliterate', '--yes', '--force'], { QUEUE_NAME: busy });
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ queue: busy, liveWorkers: [id] });
    expect(await redis.exists(queueKeys(busy).stats)).toBe(0);
  });

  it('on a Redis Cluster, deletes the keys of queues held by each master and nothing of another queue', async () => {
    const cluster = await startLocalCluster();
    const client = connectRedis(cluster.url, { maxRetriesPerRequest: 3 });
    const closed = track('cluster client');
    onCleanup(async () => {
      await client.quit().catch(() => client.disconnect());
      closed();
    });
    // The client knows the masters once it has the slot map: after its first answer.
    await client.ping();
    const masters = (client as unknown as Cluster).nodes('master');
    expect(masters).toHaveLength(3);
    const holder = async (queueName: string) => {
      const stats = queueKeys(queueName).stats;
      // KEYS answers for the node it is sent to; EXISTS would be redirected to the slot's master.
      const held = await Promise.all(masters.map((m) => m.keys(stats)));
      return held.findIndex((found) => found.length > 0);
    };
    const enqueue = async (queueName: string) => {
      const producer = createProducer({ redis: client, queueName });
      await producer.enqueueMany([update('1'), update('2')]);
      await producer.close();
    };

    // Queues whose slots fall on each of the three masters, and a bystander.
    const base = uniqueQueueName('obl-cluster');
    const byMaster = new Map<number, string>();
    for (let i = 0; byMaster.size < 3 && i < 60; i++) {
      const name = `${base}-${i}`;
      await enqueue(name);
      const at = await holder(name);
      if (byMaster.has(at)) await createQueueAdmin({ redis: client, queueName: name }).obliterate();
      else byMaster.set(at, name);
    }
    expect(byMaster.size).toBe(3);
    const bystander = `${base}-bystander`;
    await enqueue(bystander);
    const allKeys = async (queueName: string) =>
      (await Promise.all(masters.map((m) => m.keys(`${queueKeys(queueName).root}*`)))).flat().sort();
    const bystanderKeys = await allKeys(bystander);
    expect(bystanderKeys.length).toBeGreaterThan(2);

    for (const queueName of byMaster.values()) {
      const before = await allKeys(queueName);
      expect(before.length).toBeGreaterThan(2);
      const admin = createQueueAdmin({ redis: client, queueName });
      expect(await admin.obliterate()).toEqual({ keys: before.length, liveWorkers: [] });
      expect(await allKeys(queueName)).toEqual([]);
    }
    expect(await allKeys(bystander)).toEqual(bystanderKeys);
  });
});
