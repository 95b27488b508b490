// One drain: a fresh queue and simulator, a backlog per account, N worker processes until every update has an
// outcome, then the simulator's arrival log.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createProducer, createQueueAdmin, queueKeys } from '../../dist/index.js';
import { startReplicas } from './replicas.mjs';
import { startSimulatorProcess } from './simulator.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Updates to distinct contacts, the accounts' backlogs interleaved in enqueue order. */
function backlog(accounts) {
  const updates = [];
  const longest = Math.max(...accounts.map((a) => a.updates));
  for (let i = 0; i < longest; i++) {
    for (const a of accounts) {
      if (i < a.updates) {
        updates.push({
          account: a.name,
          objectType: 'contacts',
          id: String(1_000_000 + i),
          properties: { firstname: `n${i}` },
        });
      }
    }
  }
  return updates;
}

/**
 * Runs one drain and returns its raw material.
 * accounts: [{ name, token, portalId, maxRequests, windowMs, updates }]
 * options: { replicas, outsideCallsPerSecond, latencyMs, workerEnv, timeoutMs, simNice, log, inspect, feedPerSecond }
 * feedPerSecond: when given, the updates are not enqueued up front but fed at this rate once the workers run
 * (a steady flow instead of a backlog).
 * simNice: nice value for the simulator process (negative raises its priority; kept at 0 when not permitted).
 * inspect(redis, keys), when given, runs once the drain is over, before the queue's keys are deleted.
 */
export async function runDrain(redisUrl, accounts, options) {
  const {
    replicas,
    outsideCallsPerSecond = 0,
    latencyMs = 10,
    workerEnv = {},
    timeoutMs = 120_000,
    simNice = 0,
    log,
  } = options;
  const queueName = `bench-rl-${randomUUID().slice(0, 8)}`;
  const keys = queueKeys(queueName);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const sim = await startSimulatorProcess(
    {
      portals: Object.fromEntries(
        accounts.map((a) => [
          a.token,
          { portalId: a.portalId, maxRequests: a.maxRequests, windowMs: a.windowMs },
        ]),
      ),
      acceptAnyToken: false,
      latencyMs,
      autoCreate: true,
      callLogLimit: 1_000_000,
    },
    simNice,
  );
  const producer = createProducer({ redis: redisUrl, queueName });
  let workers;
  let outside = false;
  try {
    const updates = backlog(accounts);
    const enqueueStarted = performance.now();
    if (!options.feedPerSecond) {
      for (let i = 0; i < updates.length; i += 5000) await producer.enqueueMany(updates.slice(i, i + 5000));
    }
    const enqueueMs = performance.now() - enqueueStarted;

    if (outsideCallsPerSecond > 0) {
      await sim.startOutsideClient(accounts[0].token, outsideCallsPerSecond);
      outside = true;
      // Let the outside client fill its share of the window before our first call.
      await sleep(accounts[0].windowMs);
    }

    const accountsJson = Object.fromEntries(
      accounts.map((a) => [a.name, { token: a.token, maxRequests: a.maxRequests, windowMs: a.windowMs }]),
    );
    const started = Date.now();
    workers = startReplicas(replicas, {
      REDIS_URL: redisUrl,
      QUEUE_NAME: queueName,
      HUBSPOT_BASE_URL: sim.url,
      HUBSPOT_ACCOUNTS: JSON.stringify(accountsJson),
      ...workerEnv,
    });

    const total = updates.length;
    let feeding = Promise.resolve();
    if (options.feedPerSecond) {
      // 10 chunks a second on a fixed schedule, so the flow stays even whatever each enqueue takes.
      const perTick = Math.max(1, Math.round(options.feedPerSecond / 10));
      feeding = (async () => {
        const feedStarted = performance.now();
        for (let i = 0, tick = 0; i < updates.length; i += perTick, tick++) {
          const due = feedStarted + tick * 100;
          if (due > performance.now()) await sleep(due - performance.now());
          await producer.enqueueMany(updates.slice(i, i + perTick));
        }
      })();
    }
    let stats = {};
    let timedOut = false;
    for (;;) {
      stats = await redis.hgetall(keys.stats);
      const settled = ['succeeded', 'failed', 'superseded'].reduce((n, k) => n + Number(stats[k] ?? 0), 0);
      if (settled >= total) break;
      if (Date.now() - started > timeoutMs || workers.exited() === replicas) {
        timedOut = true;
        log?.(`  drain stopped early: ${settled}/${total} settled, ${workers.exited()} replicas exited`);
        break;
      }
      await sleep(100);
    }
    await feeding;
    const drainedAt = Date.now();
    const inspected = options.inspect ? await options.inspect(redis, keys) : undefined;
    if (outside) await sim.stopOutsideClients();
    outside = false;
    const exitCodes = await workers.stop();
    const workerLines = workers.lines;
    workers = undefined;
    const { calls: allCalls, stats: simStats, stalls: simStalls = [] } = await sim.results();
    const calls = allCalls.filter((c) => c.path.includes('/batch/update'));
    return {
      queueName,
      total,
      enqueueMs,
      wallMs: drainedAt - started,
      stats,
      timedOut,
      exitCodes,
      workerLines,
      inspected,
      calls,
      simStats,
      simStalls,
      simPriority: sim.priority,
    };
  } finally {
    if (outside) await sim.stopOutsideClients().catch(() => {});
    if (workers) await workers.stop(5_000);
    await producer.close();
    await sim.close();
    // Forced: replicas that did not stop in time may leave heartbeats that still look alive.
    await createQueueAdmin({ redis, queueName }).obliterate({ force: true });
    await redis.quit();
  }
}
