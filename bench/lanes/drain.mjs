// One lanes drain: a bulk backfill of distinct contacts of one account, enqueued before the worker starts, and one
// interactive update a second enqueued while it drains, against the simulator at HubSpot's rolling window. The
// worker is `node dist/bin.js worker` in a process of its own with default settings; the simulator runs in
// another (sim-child.mjs). Returns the raw material: the call log, every interactive outcome, staleness.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createProducer, createQueueAdmin, queueKeys } from '../../dist/index.js';
import { startReplicas } from '../rate-limit/replicas.mjs';

const SIM_CHILD = fileURLToPath(new URL('./sim-child.mjs', import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TOKEN = 'tok-lanes';
const PORTAL = 'portal-lanes';

/** The simulator child: `{ url, ask(message, answer), close() }`. */
async function startSim(options) {
  const child = fork(SIM_CHILD, [JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const [ready] = await once(child, 'message');
  const ask = (message, answer) =>
    new Promise((resolve) => {
      const onMessage = (m) => {
        if (m?.type !== answer) return;
        child.off('message', onMessage);
        resolve(m);
      };
      child.on('message', onMessage);
      child.send(message);
    });
  return {
    url: ready.url,
    ask,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.send({ type: 'close' });
      const timer = setTimeout(kill, 5_000);
      await exited;
      clearTimeout(timer);
      process.off('exit', kill);
    },
  };
}

/**
 * Runs the drain. options: { updates, maxRequests, windowMs, latency (a simulator latency), interactiveEveryMs,
 * timeoutMs, log }. Interactive update k sets `city` of an object the backfill also wrote, after the backfill was
 * enqueued: its value must be the final one.
 */
export async function runLanesDrain(redisUrl, options) {
  const { updates, maxRequests, windowMs, latency, interactiveEveryMs = 1000, timeoutMs, log } = options;
  const queueName = `bench-lanes-${randomUUID().slice(0, 8)}`;
  const keys = queueKeys(queueName);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const sim = await startSim({
    portals: { [TOKEN]: { portalId: PORTAL, maxRequests, windowMs } },
    acceptAnyToken: false,
    latencyMs: latency,
    autoCreate: true,
    callLogLimit: 1_000_000,
  });
  const producer = createProducer({ redis: redisUrl, queueName });
  let workers;
  try {
    const enqueueStarted = performance.now();
    for (let i = 0; i < updates; i += 5000) {
      const chunk = [];
      for (let j = i + 1; j <= Math.min(updates, i + 5000); j++) {
        chunk.push({
          objectType: 'contacts',
          id: String(j),
          properties: { city: `bulk-${j}`, firstname: `n-${j}` },
          objectWriteTraceId: `b-${j}`,
        });
      }
      await producer.enqueueMany(chunk);
    }
    const enqueueMs = performance.now() - enqueueStarted;
    log?.(`  backfill of ${updates} enqueued in ${(enqueueMs / 1000).toFixed(1)} s`);

    const started = Date.now();
    workers = startReplicas(1, {
      REDIS_URL: redisUrl,
      QUEUE_NAME: queueName,
      HUBSPOT_BASE_URL: sim.url,
      HUBSPOT_ACCOUNTS: JSON.stringify({ default: { token: TOKEN, maxRequests, windowMs } }),
    });

    // One interactive update per interval on a fixed schedule, until the backfill is done.
    const interactive = [];
    let bulkDone = false;
    const feeding = (async () => {
      const feedStarted = performance.now();
      for (let k = 1; !bulkDone; k++) {
        const due = feedStarted + k * interactiveEveryMs;
        if (due > performance.now()) await sleep(due - performance.now());
        if (bulkDone) break;
        // Spread over the backfill's objects, some sent already, some not yet ingested.
        const id = String(1 + ((k * 7919) % updates));
        const trace = `i-${k}`;
        await producer.enqueue({
          objectType: 'contacts',
          id,
          properties: { city: `interactive-${k}` },
          priority: 'interactive',
          objectWriteTraceId: trace,
        });
        interactive.push({ trace, id, city: `interactive-${k}` });
      }
    })();

    let timedOut = false;
    let lastLog = Date.now();
    for (;;) {
      const stats = await redis.hgetall(keys.stats);
      const settled = ['succeeded', 'failed', 'superseded'].reduce((n, k) => n + Number(stats[k] ?? 0), 0);
      // Interactive updates are counted too; the backfill is done once `updates` of the total are.
      if (settled >= updates + interactive.length && settled >= updates) break;
      if (Date.now() - started > timeoutMs || workers.exited() === 1) {
        timedOut = true;
        log?.(`  drain stopped early: ${settled} settled, worker exited: ${workers.exited() === 1}`);
        break;
      }
      if (Date.now() - lastLog > 20_000) {
        log?.(`  ${settled} settled after ${((Date.now() - started) / 1000).toFixed(0)} s`);
        lastLog = Date.now();
      }
      await sleep(200);
    }
    bulkDone = true;
    await feeding;
    const wallMs = Date.now() - started;
    const outcomes = await producer.waitForOutcomes(
      interactive.map((u) => u.trace),
      { timeoutMs: 60_000 },
    );
    const bulkSample = await producer.getOutcomes(['b-1', `b-${updates}`]);
    const exitCodes = await workers.stop();
    const workerLines = workers.lines;
    workers = undefined;
    const { calls } = await sim.ask({ type: 'results' }, 'results');
    const stale = await sim.ask(
      { type: 'stale', token: PORTAL, objects: updates, interactive: interactive.map((u) => [u.id, u.city]) },
      'stale',
    );
    const stats = await redis.hgetall(keys.stats);
    return {
      updates,
      enqueueMs,
      wallMs,
      timedOut,
      outcomes,
      bulkSample,
      calls,
      stale,
      stats,
      exitCodes,
      workerLines,
    };
  } finally {
    if (workers) await workers.stop(5_000);
    await producer.close();
    await sim.close();
    await createQueueAdmin({ redis, queueName }).obliterate({ force: true });
    await redis.quit();
  }
}
