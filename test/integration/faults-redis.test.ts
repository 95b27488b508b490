import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { groupOf, objectKeyOf, queueKeys } from '../../src/keys.js';
import { createProducer } from '../../src/producer/producer.js';
import type { Simulator } from '../../src/simulator/index.js';
import { generateWorkload } from '../../src/simulator/workload.js';
import {
  spawnWorker,
  TOKEN,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';
import { type RedisProxy, startRedisProxy } from '../helpers/redis-proxy.js';
import { onCleanup, testRedis, track } from '../helpers/resources.js';
import { assertDrained, assertTruthful, countBy } from '../helpers/truth.js';
import { seedWorkload } from '../helpers/workload.js';

/**
 * Arms a blip on the first run of a script on a connection: ioredis sends a script's first call on a connection as
 * EVAL with its whole source (the preludes luaScript adds, then the file), so a line of the file's header finds it.
 * The connection must be new to the script (a worker or producer started after this).
 */
function blipFirstRun(proxy: RedisProxy, file: string): void {
  const source = readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8');
  proxy.blip(source.split('\n')[1] ?? '');
}

/** Every key matching `pattern` (SCAN, so Redis is never blocked). */
async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

const workerEnv = (queueName: string, sim: Simulator, redis: string, extra: Record<string, string> = {}) => ({
  QUEUE_NAME: queueName,
  REDIS_URL: redis,
  HUBSPOT_BASE_URL: sim.url,
  HUBSPOT_ACCESS_TOKEN: TOKEN,
  RATE_LIMIT_MAX: '1000',
  BATCH_LINGER_MS: '50',
  BACKOFF_BASE_MS: '100',
  BACKOFF_MAX_MS: '1000',
  HTTP_TIMEOUT_MS: '2000',
  SHUTDOWN_TIMEOUT_MS: '5000',
  ...extra,
});

function exitOf(child: ReturnType<typeof spawnWorker>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function terminal(redis: Redis, queueName: string): Promise<number> {
  const stats = await redis.hgetall(queueKeys(queueName).stats);
  return ['succeeded', 'failed', 'superseded'].reduce((n, s) => n + Number(stats[s] ?? 0), 0);
}

describe('Redis replies lost on the wire', () => {
  for (const phase of ['from start-up', 'in steady state'] as const) {
    it(`workers drain 6,000 updates at 10 calls/s while a proxy drops replies and cuts connections at random ${phase}`, async () => {
      const sim = await testSimulator({ seed: 21, latencyMs: { min: 5, max: 20 } });
      const queueName = testQueue('blips');
      const workload = generateWorkload({
        updates: 6000,
        objectsPerType: 3000,
        idPropertyShare: 0.2,
        missingShare: 0.01,
        seed: 13,
      });
      seedWorkload(sim, workload);
      const producer = testProducer(queueName);
      const ids = (await producer.enqueueMany(workload.updates)).map((r) => r.objectWriteTraceId);
      const proxy = await startRedisProxy();
      if (phase === 'from start-up') proxy.startBlips({ minMs: 100, maxMs: 400 });
      const started = Date.now();
      const workers = [1, 2].map(() =>
        spawnWorker(workerEnv(queueName, sim, proxy.url, { RATE_LIMIT_MAX: '100' })),
      );
      const probe = testRedis();
      if (phase === 'in steady state') {
        await waitFor(async () => (await terminal(probe, queueName)) >= 0.2 * ids.length, {
          what: '20% of updates finished',
        });
        proxy.startBlips({ minMs: 100, maxMs: 400 });
      }
      const outcomes = await producer.waitForOutcomes(ids, { timeoutMs: 100_000 }).catch((err) => {
        for (const w of workers) console.error((w as unknown as { output: string }).output.slice(-5000));
        throw err;
      });
      proxy.stopBlips();
      const batches = sim.calls().filter((c) => c.path.endsWith('/batch/update')).length;
      console.info(
        `blips ${phase}: ${ids.length} updates in ${((Date.now() - started) / 1000).toFixed(1)} s, ${batches} batch calls, ${proxy.blips} blips, outcomes ${JSON.stringify(countBy(outcomes))}`,
      );
      expect(proxy.blips).toBeGreaterThan(5);
      assertTruthful(sim, workload, outcomes);
      await assertDrained(probe, queueName);
      const stats = await probe.hgetall(queueKeys(queueName).stats);
      expect(await terminal(probe, queueName), 'every outcome counted once').toBe(ids.length);
      expect(Number(stats.pending), 'pending counter').toBe(0);
      expect(Number(stats.inflight), 'inflight counter').toBe(0);
      // Both are still alive and working order: SIGTERM stops each within its shutdown timeout, exit 0.
      for (const w of workers) expect(w.exitCode, 'a worker exited on its own').toBeNull();
      for (const w of workers) w.kill('SIGTERM');
      expect(await Promise.all(workers.map(exitOf))).toEqual([0, 0]);
    }, 150_000);
  }

  it('a claim whose reply is lost runs again under the same batch id and claims nothing more', async () => {
    const sim = await testSimulator();
    const objects = Array.from({ length: 150 }, (_, i) => ({ id: String(5000 + i), properties: {} }));
    sim.createObjects(TOKEN, 'contacts', objects);
    const queueName = testQueue('claim-twice');
    const producer = testProducer(queueName);
    const results = await producer.enqueueMany(
      objects.map((o) => ({ objectType: 'contacts', id: o.id, properties: { firstname: `n-${o.id}` } })),
    );
    const direct = testRedis();
    const proxy = await startRedisProxy();
    blipFirstRun(proxy, 'worker/lua/claim.lua');
    await testWorker(queueName, sim, { redisUrl: proxy.url, validateProperties: false });
    const outcomes = await producer.waitForOutcomes(
      results.map((r) => r.objectWriteTraceId),
      { timeoutMs: 30_000 },
    );
    expect(proxy.blips).toBe(1);
    expect(outcomes.map((o) => o.status)).toEqual(objects.map(() => 'succeeded'));
    for (const o of objects)
      expect(sim.getObject(TOKEN, 'contacts', o.id)?.properties.firstname).toBe(`n-${o.id}`);
    await assertDrained(direct, queueName);
  });

  it('an enqueue whose reply is lost runs again and answers as its first run: every update queued once, none a duplicate', async () => {
    const sim = await testSimulator();
    const objects = Array.from({ length: 200 }, (_, i) => ({ id: String(5400 + i), properties: {} }));
    sim.createObjects(TOKEN, 'contacts', objects);
    const queueName = testQueue('enqueue-twice');
    const direct = testRedis();
    const proxy = await startRedisProxy();
    blipFirstRun(proxy, 'producer/lua/enqueue.lua');
    const producer = createProducer({ redis: proxy.url, queueName });
    const done = track('proxied producer');
    onCleanup(async () => {
      await producer.close();
      done();
    });
    // One shard, one call of the script: the fast path, with no read-only review before it.
    const results = await producer.enqueueMany(
      objects.map((o) => ({ objectType: 'contacts', id: o.id, properties: { firstname: `e-${o.id}` } })),
    );
    expect(proxy.blips).toBe(1);
    expect(results.filter((r) => r.duplicate)).toEqual([]);
    // Filed at once, each in its object's list once, and counted once.
    const k = queueKeys(queueName);
    expect(await direct.llen(k.wait)).toBe(0);
    const lists = await Promise.all(
      objects.map((o) => direct.lrange(k.objectUpdates(objectKeyOf('default', 'contacts', '', o.id)), 0, -1)),
    );
    expect(lists.map((l) => l.length)).toEqual(objects.map(() => 1));
    expect(await direct.zcard(k.pending(groupOf('default', 'contacts')))).toBe(200);
    expect(await direct.hget(k.stats, 'pending')).toBe('200');
    await testWorker(queueName, sim, { validateProperties: false });
    const outcomes = await testProducer(queueName).waitForOutcomes(
      results.map((r) => r.objectWriteTraceId),
      { timeoutMs: 30_000 },
    );
    expect(outcomes.map((o) => o.status)).toEqual(objects.map(() => 'succeeded'));
    for (const o of objects)
      expect(sim.getObject(TOKEN, 'contacts', o.id)?.properties.firstname).toBe(`e-${o.id}`);
    await assertDrained(direct, queueName);
  });

  it('a claim whose reply is lost, of contacts that change their email, settles them once and leaves no address waiting', async () => {
    const sim = await testSimulator();
    const objects = Array.from({ length: 150 }, (_, i) => ({
      id: String(5600 + i),
      properties: { email: `old-${i}@example.com` },
    }));
    sim.createObjects(TOKEN, 'contacts', objects);
    const queueName = testQueue('claim-sets');
    const producer = testProducer(queueName);
    const results = await producer.enqueueMany(
      objects.map((o, i) => ({
        objectType: 'contacts',
        id: o.id,
        properties: { email: `New-${i}@Example.com` },
      })),
    );
    const direct = testRedis();
    const proxy = await startRedisProxy();
    blipFirstRun(proxy, 'worker/lua/claim.lua');
    await testWorker(queueName, sim, { redisUrl: proxy.url, validateProperties: false });
    const outcomes = await producer.waitForOutcomes(
      results.map((r) => r.objectWriteTraceId),
      { timeoutMs: 30_000 },
    );
    expect(proxy.blips).toBe(1);
    expect(outcomes.map((o) => o.status)).toEqual(objects.map(() => 'succeeded'));
    for (const [i, o] of objects.entries())
      expect(sim.getObject(TOKEN, 'contacts', o.id)?.properties.email).toBe(`New-${i}@Example.com`);
    // The re-run claim handed settle each job's `sets`: every job left the setters of its new email, and the
    // queue learned where each new email points.
    const k = queueKeys(queueName);
    expect(await keysMatching(direct, `${k.root}setby:*`)).toEqual([]);
    const learned = await keysMatching(direct, `${k.root}addr:*`);
    expect(learned).toHaveLength(150);
    const ids = await Promise.all(learned.map((key) => direct.get(key)));
    expect(new Set(ids)).toEqual(new Set(objects.map((o) => o.id)));
    await assertDrained(direct, queueName);
  });

  it('a settle whose reply is lost runs again and reports the first run, counting every outcome once', async () => {
    const sim = await testSimulator();
    const objects = Array.from({ length: 50 }, (_, i) => ({ id: String(6000 + i), properties: {} }));
    sim.createObjects(TOKEN, 'contacts', objects);
    const queueName = testQueue('settle-twice');
    const producer = testProducer(queueName);
    const results = await producer.enqueueMany(
      objects.map((o) => ({ objectType: 'contacts', id: o.id, properties: { firstname: `s-${o.id}` } })),
    );
    const direct = testRedis();
    const proxy = await startRedisProxy();
    blipFirstRun(proxy, 'worker/lua/settle.lua');
    const lines: string[] = [];
    const logger = (await import('pino')).default(
      { level: 'warn' },
      { write: (line: string) => lines.push(line) },
    );
    const worker = await testWorker(queueName, sim, {
      redisUrl: proxy.url,
      validateProperties: false,
      logger,
    });
    const outcomes = await producer.waitForOutcomes(results.map((r) => r.objectWriteTraceId));
    // The outcomes are readable once the first run wrote them; the re-run's answer reaches the worker after.
    // Closing waits for the batch to end, so its log is complete.
    await worker.close();
    expect(proxy.blips).toBe(1);
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
    const stats = await direct.hgetall(queueKeys(queueName).stats);
    expect(Number(stats.succeeded)).toBe(objects.length);
    expect(lines.filter((l) => l.includes('lease was lost'))).toEqual([]);
    await assertDrained(direct, queueName);
  });

  it('a connection that hangs (a request swallowed, nothing answered, nothing closed) is dropped and redone', async () => {
    const sim = await testSimulator();
    const objects = Array.from({ length: 120 }, (_, i) => ({ id: String(8000 + i), properties: {} }));
    sim.createObjects(TOKEN, 'contacts', objects);
    const queueName = testQueue('stall');
    const producer = testProducer(queueName);
    const proxy = await startRedisProxy();
    await testWorker(queueName, sim, { redisUrl: proxy.url, validateProperties: false, leaseMs: 3000 });
    proxy.stall();
    const results = await producer.enqueueMany(
      objects.map((o) => ({ objectType: 'contacts', id: o.id, properties: { firstname: `h-${o.id}` } })),
    );
    const outcomes = await producer.waitForOutcomes(results.map((r) => r.objectWriteTraceId));
    expect(proxy.blips).toBe(1);
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
    await assertDrained(testRedis(), queueName);
  });
});

describe('counters stay true when a reply is lost', () => {
  it('an unroutable job whose failing script is re-sent is counted once', async () => {
    const sim = await testSimulator();
    const queueName = testQueue('invalid-twice');
    const redis = testRedis();
    const k = queueKeys(queueName);
    // A job another client wrote, naming no object: the worker fails it with VALIDATION_ERROR.
    await redis.hset(
      `${k.jobPrefix}bad-1`,
      'name',
      'update',
      'data',
      '{"objectType":"contacts"}',
      'timestamp',
      1,
    );
    await redis.lpush(k.wait, 'bad-1');
    const proxy = await startRedisProxy();
    blipFirstRun(proxy, 'worker/lua/fail-invalid.lua');
    const worker = await testWorker(queueName, sim, { redisUrl: proxy.url });
    await waitFor(async () => (await redis.exists(k.outcome('bad-1'))) === 1, { what: 'the outcome' });
    // A heartbeat after the blip went through the same connection, after the re-sent script.
    const after = Date.now();
    await waitFor(async () => Number(await redis.zscore(k.workers, worker.id)) > after, {
      what: 'a later heartbeat',
    });
    const stats = await redis.hgetall(k.stats);
    expect(proxy.blips).toBe(1);
    expect(Number(stats.failed)).toBe(1);
    expect(Number(stats['failed:VALIDATION_ERROR'])).toBe(1);
    expect(await redis.zcard(k.failed)).toBe(1);
  });
});

describe('a worker that loses Redis', () => {
  it('started while Redis is unreachable, gives up after LIVENESS_TIMEOUT_MS and exits non-zero', async () => {
    const sim = await testSimulator();
    const queueName = testQueue('down-at-start');
    const proxy = await startRedisProxy();
    proxy.setDown(true);
    const child = spawnWorker(workerEnv(queueName, sim, proxy.url, { LIVENESS_TIMEOUT_MS: '2000' }));
    expect(await exitOf(child)).toBe(1);
  });

  it('whose Redis goes away for longer than LIVENESS_TIMEOUT_MS reports not-live and gives up', async () => {
    const sim = await testSimulator();
    const queueName = testQueue('down-later');
    const proxy = await startRedisProxy();
    let fatal: Error | undefined;
    const worker = await testWorker(queueName, sim, {
      redisUrl: proxy.url,
      livenessTimeoutMs: 1500,
      shutdownTimeoutMs: 2000,
      onFatal: (err) => {
        fatal = err;
      },
    });
    expect(worker.live).toBe(true);
    proxy.setDown(true);
    await waitFor(() => fatal !== undefined, { what: 'the worker to give up', timeoutMs: 15_000 });
    expect(worker.live).toBe(false);
    expect(fatal?.message).toMatch(/no progress/);

    // As a process: it exits 1 when it gives up, so its orchestrator restarts it.
    proxy.setDown(false);
    const child = spawnWorker(workerEnv(queueName, sim, proxy.url, { LIVENESS_TIMEOUT_MS: '1500' }));
    const direct = testRedis();
    await waitFor(async () => (await direct.zcard(queueKeys(queueName).workers)) > 1, {
      what: 'the process to register',
    });
    proxy.setDown(true);
    expect(await exitOf(child)).toBe(1);
  });

  it('answers SIGTERM within SHUTDOWN_TIMEOUT_MS while Redis is down', async () => {
    const sim = await testSimulator({ latencyMs: 3000 });
    sim.createObjects(TOKEN, 'contacts', [{ id: '7001', properties: {} }]);
    const queueName = testQueue('term-down');
    const producer = testProducer(queueName);
    await producer.enqueue({ objectType: 'contacts', id: '7001', properties: { firstname: 'x' } });
    const proxy = await startRedisProxy();
    const child = spawnWorker(
      workerEnv(queueName, sim, proxy.url, { SHUTDOWN_TIMEOUT_MS: '2000', VALIDATE_PROPERTIES: 'false' }),
    );
    // Its batch is in its call (3 s) when Redis goes away; then it is told to stop.
    const direct = testRedis();
    await waitFor(async () => (await direct.zcard(queueKeys(queueName).leases)) > 0, { what: 'a claim' });
    proxy.setDown(true);
    const stoppedAt = Date.now();
    child.kill('SIGTERM');
    const code = await exitOf(child);
    const tookMs = Date.now() - stoppedAt;
    console.info(`SIGTERM with Redis down: exit ${code} after ${tookMs} ms (SHUTDOWN_TIMEOUT_MS 2000)`);
    expect(code).toBe(0);
  });
});
