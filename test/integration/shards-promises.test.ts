// The README's promises with several queue shards: each test is one way sharding could break one of them.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ObliterateRefusedError } from '../../src/admin/obliterate.js';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import type { HubSpotPort } from '../../src/hubspot/port.js';
import { queueKeys } from '../../src/keys.js';
import { createProducer, type Producer, WaitTimeoutError } from '../../src/producer/producer.js';
import { TraceIdConflictError } from '../../src/producer/trace-ids.js';
import { ShardCountMismatchError, shardOfAccount, shardQueueNames } from '../../src/shards.js';
import type { UpdateRequest } from '../../src/update.js';
import { createWorker } from '../../src/worker/index.js';
import {
  boundedWaits,
  testAdmin,
  testBullQueue,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';
import { startRedisProxy } from '../helpers/redis-proxy.js';
import { onCleanup, redisUrl, testRedis, track } from '../helpers/resources.js';

const SHARDS = 4;
/** Accounts by home shard (of 4), found by search so the tests do not depend on a hard-coded hash. */
function accountsByShard(shards = SHARDS): string[] {
  const found: string[] = [];
  for (let i = 0; found.filter(Boolean).length < shards; i++) {
    const a = `acct-${i}`;
    const s = shardOfAccount(a, shards);
    if (!found[s]) found[s] = a;
  }
  return found;
}

function producerOf(queueName: string, shards = SHARDS, redis: string = redisUrl()): Producer {
  const p = boundedWaits(createProducer({ redis, queueName, shards }));
  const done = track('sharded producer');
  onCleanup(async () => {
    await p.close();
    done();
  });
  return p;
}

const upd = (account: string, firstname: string, trace?: string): UpdateRequest => ({
  account,
  objectType: 'contacts',
  id: '1',
  properties: { firstname },
  ...(trace ? { objectWriteTraceId: trace } : {}),
});

describe('queue shards keep the promises of one shard', () => {
  it('refuses a trace id reused for another account of another shard in a later call (as one shard does)', async () => {
    const q = testQueue('rv-reuse', SHARDS);
    const [a0, a1] = accountsByShard();
    const p = producerOf(q);
    await p.enqueue(upd(a1 as string, 'first', 'T-reuse'));
    // One shard refuses this; four shards take it.
    await expect(p.enqueue(upd(a0 as string, 'second', 'T-reuse'))).rejects.toBeInstanceOf(
      TraceIdConflictError,
    );
  });

  it('getOutcome and explain agree on a trace id held by two shards', async () => {
    const q = testQueue('rv-disagree', SHARDS);
    const [a0, a1] = accountsByShard();
    const p = producerOf(q);
    await p.enqueue(upd(a0 as string, 'x', 'T-two'));
    // Refused now; a BullMQ client (which no check sees) can still put the trace id in a second shard.
    await expect(p.enqueue(upd(a1 as string, 'y', 'T-two'))).rejects.toBeInstanceOf(TraceIdConflictError);
    await testBullQueue(shardQueueNames(q, SHARDS)[shardOfAccount(a1 as string, SHARDS)] as string).add(
      'update',
      { ...upd(a1 as string, 'y', 'T-two') },
      { jobId: 't-T-two' },
    );
    const admin = testAdmin(q, { shards: SHARDS });
    await admin.failAccount(a1 as string);
    const outcome = await p.getOutcome('T-two');
    const story = await p.explain('T-two');
    expect({ status: outcome?.status, account: outcome?.account }).toEqual({
      status: story.seen ? story.outcome?.status : undefined,
      account: story.seen ? story.outcome?.account : undefined,
    });
  });

  it('checkTraceIds: an update is never both a duplicate and a conflict, and the conflict names the reuse', async () => {
    const q = testQueue('rv-check', SHARDS);
    const [a0, a1] = accountsByShard();
    const p = producerOf(q);
    await p.enqueue(upd(a1 as string, 'y', 'T-chk'));
    const r = await p.checkTraceIds([upd(a0 as string, 'x', 'T-chk'), upd(a1 as string, 'y', 'T-chk')]);
    const both = r.duplicates.filter((i) => r.conflicts.some((c) => c.index === i));
    expect({ both, conflictIndexes: r.conflicts.map((c) => c.index) }).toEqual({
      both: [],
      conflictIndexes: [0],
    });
  });

  it('waitForOutcomes called before the enqueue resolves (as with one shard)', async () => {
    const q = testQueue('rv-wait-first', SHARDS);
    const [, a1] = accountsByShard();
    const sim = await testSimulator();
    sim.createObjects('tok', 'contacts', [{ id: '1', properties: {} }]);
    const p = producerOf(q);
    const waiting = p.waitForOutcomes(['T-early'], { timeoutMs: 8_000 });
    await new Promise((r) => setTimeout(r, 200));
    await p.enqueue(upd(a1 as string, 'v', 'T-early'));
    await testWorker(q, sim, { shards: SHARDS, accounts: { [a1 as string]: { token: 'tok' } } });
    const settled = await waiting.then(
      (o) => o.map((x) => x.status),
      (e: unknown) => (e instanceof WaitTimeoutError ? 'WaitTimeoutError' : String(e)),
    );
    expect((await p.getOutcome('T-early'))?.status).toBe('succeeded');
    expect(settled).toEqual(['succeeded']);
  }, 30_000);

  it('retryFailed --limit N replays at most N updates across shards', async () => {
    const q = testQueue('rv-retry-limit', SHARDS);
    const accounts = accountsByShard();
    const p = producerOf(q);
    for (const a of accounts) await p.enqueue(upd(a, 'v'));
    const admin = testAdmin(q, { shards: SHARDS });
    for (const a of accounts) await admin.failAccount(a);
    expect((await admin.listFailed({ objectType: 'contacts', limit: 1 })).length).toBe(1);
    const ids = await admin.retryFailed({ objectType: 'contacts', limit: 1 }, { dryRun: true });
    expect(ids.length).toBe(1);
  });

  it('obliterate refused because of a live worker deletes nothing', async () => {
    const q = testQueue('rv-oblit', SHARDS);
    const accounts = accountsByShard();
    const p = producerOf(q);
    for (const a of accounts) await p.enqueue(upd(a, 'v'));
    const redis = testRedis();
    const names = shardQueueNames(q, SHARDS);
    // A worker whose heartbeat is fresh in shard 2 only (its shard-0 loop stopped, or a worker of shard 2 alone).
    const t = await redis.time();
    await redis.zadd(queueKeys(names[2] as string).workers, Number(t[0]) * 1000, 'w-shard2');
    const admin = testAdmin(q, { shards: SHARDS });
    await expect(admin.obliterate()).rejects.toBeInstanceOf(ObliterateRefusedError);
    // "obliterate refused, nothing deleted" (the CLI's words), though the live worker is only in shard 2:
    expect(await redis.hget(queueKeys(names[0] as string).stats, 'pending')).toBe('1');
  });

  it('onFatal is called once when the worker gives up', async () => {
    const q = testQueue('rv-fatal', 3);
    const sim = await testSimulator();
    const proxy = await startRedisProxy();
    let fatal = 0;
    await testWorker(q, sim, {
      redisUrl: proxy.url,
      shards: 3,
      livenessTimeoutMs: 1_000,
      shutdownTimeoutMs: 1_000,
      onFatal: () => {
        fatal++;
      },
    });
    proxy.setDown(true);
    await new Promise((r) => setTimeout(r, 4_000));
    proxy.setDown(false);
    expect(fatal).toBe(1);
  }, 30_000);

  it('waitForOutcomes rides out a short Redis outage at its start (as one shard does)', async () => {
    const results: Record<string, string> = {};
    for (const shards of [1, SHARDS]) {
      const q = testQueue(`rv-blip-${shards}`, shards);
      const [, a1] = accountsByShard();
      const direct = producerOf(q, shards);
      const { objectWriteTraceId: id } = await direct.enqueue(upd(a1 as string, 'v'));
      await testAdmin(q, { shards }).failAccount(a1 as string);
      const proxy = await startRedisProxy();
      const p = producerOf(q, shards, proxy.url);
      await p.getOutcome(id); // connected
      proxy.setDown(true);
      const waiting = p.waitForOutcomes([id], { timeoutMs: 10_000 }).then(
        (o) => o.map((x) => x.status).join(','),
        (e: unknown) => `rejected: ${(e as Error).name}: ${(e as Error).message.slice(0, 80)}`,
      );
      await new Promise((r) => setTimeout(r, 1_500));
      proxy.setDown(false);
      results[`shards=${shards}`] = await waiting;
    }
    expect(results).toEqual({ 'shards=1': 'failed', [`shards=${SHARDS}`]: 'failed' });
  }, 40_000);

  it("WORKER_CONCURRENCY bounds the worker's calls in flight across all its shards, and every update still goes out", async () => {
    const q = testQueue('sh-slots', SHARDS);
    const LATENCY_MS = 1_200;
    const accounts = accountsByShard();
    const sim = await testSimulator({
      autoCreate: true,
      portals: Object.fromEntries(
        accounts.map((a) => [
          `tok-${a}`,
          { portalId: a, maxRequests: 100, windowMs: 10_000, latencyMs: LATENCY_MS },
        ]),
      ),
    });
    const p = producerOf(q);
    const enqueued = await p.enqueueMany(
      accounts.flatMap((a) =>
        [1, 2, 3].map((i) => ({
          account: a,
          objectType: 'contacts',
          id: String(i),
          properties: { firstname: `${a}-${i}` },
        })),
      ),
    );
    await testWorker(q, sim, {
      shards: SHARDS,
      accounts: Object.fromEntries(accounts.map((a) => [a, { token: `tok-${a}` }])),
      concurrency: 2,
      batchMaxSize: 1,
      validateProperties: false,
      httpTimeoutMs: 10_000,
    });
    const outcomes = await p.waitForOutcomes(
      enqueued.map((r) => r.objectWriteTraceId),
      { timeoutMs: 30_000 },
    );
    expect(outcomes.map((o) => o.status)).toEqual(enqueued.map(() => 'succeeded'));
    // Each call takes LATENCY_MS at HubSpot: calls arriving closer together than that were out at once.
    const arrivals = sim
      .calls()
      .filter((c) => c.endpoint === 'batchUpdate')
      .map((c) => c.at)
      .sort((a, b) => a - b);
    let most = 0;
    for (let i = 0; i < arrivals.length; i++)
      most = Math.max(
        most,
        arrivals.filter((t) => t >= (arrivals[i] as number) && t < (arrivals[i] as number) + LATENCY_MS - 100)
          .length,
      );
    expect({ calls: arrivals.length, mostAtOnce: most }).toEqual({ calls: 3 * SHARDS, mostAtOnce: 2 });
  }, 60_000);

  it('a producer or worker with another QUEUE_SHARDS than the queue recorded refuses to run', async () => {
    const q = testQueue('sh-count', SHARDS);
    const sim = await testSimulator();
    const current = producerOf(q, SHARDS);
    await current.enqueue(upd('north', 'v'));
    const legacy = producerOf(q, 1);
    const refused = await legacy.enqueue(upd('north', 'w')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ShardCountMismatchError);
    expect((refused as ShardCountMismatchError).code).toBe('SHARD_COUNT_MISMATCH');
    expect(String(refused)).toMatch(/has 4 shard\(s\) but this process was given QUEUE_SHARDS=1/);
    // Still refused on the next call: nothing of it was queued.
    await expect(legacy.enqueue(upd('north', 'w'))).rejects.toBeInstanceOf(ShardCountMismatchError);
    const worker = createWorker({
      redisUrl: redisUrl(),
      queueName: q,
      shards: 2,
      accounts: { north: { token: 'tok' } },
      hubspotBaseUrl: sim.url,
      logger: pino({ level: 'silent' }),
    });
    await expect(worker.start()).rejects.toBeInstanceOf(ShardCountMismatchError);
    await worker.close();
    await expect(testAdmin(q, { shards: 2 }).status()).rejects.toBeInstanceOf(ShardCountMismatchError);
  });

  it('a producer with another QUEUE_SHARDS refuses to read outcomes; one reading a queue with no count recorded checks again later', async () => {
    const q = testQueue('sh-count-reads', SHARDS);
    const current = producerOf(q, SHARDS);
    const legacy = producerOf(q, 1);
    // Nothing recorded yet: a read answers (nothing known) and records nothing.
    expect(await legacy.getOutcomes(['x'])).toEqual([null]);
    const { objectWriteTraceId } = await current.enqueue(upd('south', 'v'));
    // Now 4 are recorded: every read of the 1-shard producer is refused instead of calling the update unknown.
    for (const read of [
      () => legacy.getOutcome(objectWriteTraceId),
      () => legacy.getOutcomes([objectWriteTraceId]),
      () => legacy.explain(objectWriteTraceId),
      () => legacy.waitForOutcomes([objectWriteTraceId], { timeoutMs: 2_000 }),
    ])
      await expect(read()).rejects.toBeInstanceOf(ShardCountMismatchError);
    expect((await current.getOutcome(objectWriteTraceId))?.status).toBe('queued');
  });

  it('a shard-count check whose reply is lost runs again and the worker and producer start as usual', async () => {
    const q = testQueue('sh-count-lost', SHARDS);
    const [, a1] = accountsByShard();
    const sim = await testSimulator();
    sim.createObjects('tok', 'contacts', [{ id: '1', properties: {} }]);
    // The script as luaScript sends it (no prelude), so its EVALSHA or its EVAL can be told apart.
    const source = `\n${readFileSync(new URL('../../src/lua/claim-shard-count.lua', import.meta.url), 'utf8')}`;
    const match = [createHash('sha1').update(source).digest('hex'), 'Records a queue'];
    const proxy = await startRedisProxy();
    // The worker's check ran and recorded the count; the reply never came back, so the check is sent again.
    proxy.blip(match);
    await testWorker(q, sim, {
      redisUrl: proxy.url,
      shards: SHARDS,
      accounts: { [a1 as string]: { token: 'tok' } },
    });
    expect(proxy.blips).toBe(1);
    proxy.blip(match);
    const p = producerOf(q, SHARDS, proxy.url);
    const { objectWriteTraceId } = await p.enqueue(upd(a1 as string, 'after'));
    expect(proxy.blips).toBe(2);
    const [o] = await p.waitForOutcomes([objectWriteTraceId], { timeoutMs: 15_000 });
    expect(o?.status).toBe('succeeded');
    expect(await testRedis().get(queueKeys(shardQueueNames(q, SHARDS)[0] as string).shardCount)).toBe(
      String(SHARDS),
    );
  }, 30_000);

  it('a job a BullMQ client put in a shard its account is not in fails saying so, and nothing goes stale', async () => {
    const q = testQueue('sh-misroute', SHARDS);
    const [, a1] = accountsByShard(); // home shard 1 of 4
    const sim = await testSimulator();
    sim.createObjects('tok', 'contacts', [{ id: '1', properties: {} }]);
    const current = producerOf(q, SHARDS);
    // A client routing with another count puts the older update in shard 0's queue.
    await testBullQueue(shardQueueNames(q, SHARDS)[0] as string).add(
      'update',
      { ...upd(a1 as string, 'old', 'T-old') },
      { jobId: 't-T-old' },
    );
    const fresh = await current.enqueue(upd(a1 as string, 'new'));
    const client = createHubSpotClient({ baseUrl: sim.url, tokenProvider: async () => 'tok' });
    onCleanup(() => client.close());
    // HubSpot is slow on one call: had the old value been sent, its call would land last.
    const slow: HubSpotPort = {
      batchUpdate: async (req) => {
        if (req.inputs.some((i) => i.properties.firstname === 'old'))
          await new Promise((r) => setTimeout(r, 1_500));
        return client.batchUpdate(req);
      },
      batchRead: (req) => client.batchRead(req),
      getProperties: (a, t, s) => client.getProperties(a, t, s),
    };
    await testWorker(q, sim, {
      shards: SHARDS,
      accounts: { [a1 as string]: { token: 'tok' } },
      hubspot: slow,
    });
    const [old, latest] = await current.waitForOutcomes(['T-old', fresh.objectWriteTraceId], {
      timeoutMs: 15_000,
    });
    expect(latest?.status).toBe('succeeded');
    expect(old?.status).toBe('failed');
    expect(old?.error?.category).toBe('VALIDATION_ERROR');
    expect(old?.error?.message).toMatch(
      /is held by shard 1 of the queue's 4, but this job was enqueued to shard 0/,
    );
    expect(sim.getObject('tok', 'contacts', '1')?.properties.firstname).toBe('new');
  }, 30_000);

  it('a producer that outlived its queue, re-created with another QUEUE_SHARDS, is refused and files nothing', async () => {
    const q = testQueue('sh-stale-producer', 4);
    const redis = testRedis();
    const accounts = Array.from({ length: 200 }, (_, i) => `acct${i}`);
    const x = accounts.find((a) => shardOfAccount(a, 2) === 0 && shardOfAccount(a, 4) !== 0) as string;
    const y = accounts.find((a) => shardOfAccount(a, 2) === 1) as string;
    const sim = await testSimulator();
    sim.createObjects('tok-x', 'contacts', [{ id: '1', properties: {} }]);
    const p2 = producerOf(q, 2);
    await p2.enqueue({ account: x, objectType: 'contacts', id: '1', properties: { firstname: 'first' } });
    // The queue is re-created with 4 shards while the producer lives on (it checked the count once).
    await testAdmin(q, { shards: 2 }).obliterate({ force: true });
    await testWorker(q, sim, { shards: 4, accounts: { [x]: { token: 'tok-x' } }, validateProperties: false });
    // Shard 0 holds the count its workers recorded: the stale producer's call there is refused.
    await expect(
      p2.enqueue({ account: x, objectType: 'contacts', id: '1', properties: { lastname: 'via shard 0' } }),
    ).rejects.toBeInstanceOf(ShardCountMismatchError);
    // Another shard's workers recorded their place: the update waits for ingest, which fails it by name.
    const stale = await p2.enqueue({
      account: y,
      objectType: 'contacts',
      id: '1',
      properties: { lastname: 'y' },
    });
    const names = shardQueueNames(q, 2);
    const key = queueKeys(names[1] as string).outcome(stale.objectWriteTraceId);
    if (shardOfAccount(y, 4) !== 1) {
      await waitFor(async () => /"failed"/.test((await redis.get(key)) ?? ''), {
        what: "the stale producer's update to fail in shard 1",
        timeoutMs: 10_000,
      });
      expect(await redis.get(key)).toMatch(
        /is held by shard \d of the queue's 4, but this job was enqueued to shard 1/,
      );
    }
    await sim.idle();
    expect(sim.getObject('tok-x', 'contacts', '1')?.properties.lastname).toBeUndefined();
  });

  it('a producer that outlived its queue records its count when it finds none, and a worker given another refuses', async () => {
    const q = testQueue('sh-stale-first', 4);
    const accounts = Array.from({ length: 200 }, (_, i) => `acct${i}`);
    const x = accounts.find((a) => shardOfAccount(a, 2) === 0) as string;
    const sim = await testSimulator();
    const p2 = producerOf(q, 2);
    await p2.enqueue({ account: x, objectType: 'contacts', id: '1', properties: { firstname: 'first' } });
    await testAdmin(q, { shards: 2 }).obliterate({ force: true });
    // Before any worker starts again: the stale producer's call to shard 0 records its count, 2.
    await p2.enqueue({ account: x, objectType: 'contacts', id: '1', properties: { firstname: 'again' } });
    expect(await testRedis().get(queueKeys(q).shardCount)).toBe('2');
    await expect(testWorker(q, sim, { shards: 4, validateProperties: false })).rejects.toBeInstanceOf(
      ShardCountMismatchError,
    );
    await testAdmin(q, { shards: 2 }).obliterate({ force: true });
  });
});
