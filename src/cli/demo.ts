import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createQueueAdmin } from '../admin/queue-admin.js';
import type { Config } from '../config.js';
import { queueKeys } from '../keys.js';
import { createProducer } from '../producer/producer.js';
import { connectRedis } from '../redis.js';
import { startSimulator } from '../simulator/index.js';
import { generateWorkload } from '../simulator/workload.js';
import { parseUpdate, type UpdateRequest } from '../update.js';
import { createWorker } from '../worker/index.js';

const TOKEN = 'demo-token';
const UPDATES = 5000;

/** Records a real producer would send by mistake; the producer names each problem and enqueues none of them. */
const BAD_RECORDS: unknown[] = [
  { objectType: 'contacts', properties: { firstname: 'No id' } },
  { objectType: 'contacts', id: '100001', properties: {} },
  { objectType: 'contacts', id: '100002', properties: { firstname: { nested: 'object' } } },
  { objectType: 'con|tacts', id: '100003', properties: { firstname: 'Bad type' } },
];

function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * `npm run demo`: starts the HubSpot simulator and two workers, enqueues a realistic workload (two object types,
 * repeated objects, some addressed by a unique property, a few records to missing objects, a few poison values
 * and some records rejected at validation), shows progress, prints a summary and shuts everything down.
 */
export async function runDemo(config: Config): Promise<number> {
  const started = Date.now();
  const queueName = `demo-${randomUUID().slice(0, 8)}`;
  const keys = queueKeys(queueName);
  const redis = connectRedis(config.REDIS_URL, { maxRetriesPerRequest: 3, lazyConnect: true });
  try {
    await redis.connect();
    await redis.ping();
  } catch {
    process.stderr.write(
      `Redis does not answer at ${config.REDIS_URL}. Start one (e.g. \`redis-server\`, or \`docker compose up redis\`) or set REDIS_URL.\n`,
    );
    redis.disconnect();
    return 1;
  }

  const sim = await startSimulator({
    seed: 11,
    latencyMs: { min: 5, max: 30 },
    faults: { error5xx: 0.02, canceled: 0.02 },
  });
  const workload = generateWorkload({
    updates: UPDATES,
    objectsPerType: 1500,
    idPropertyShare: 0.2,
    missingShare: 0.01,
    poisonShare: 0.005,
    seed: 3,
  });
  for (const type of ['contacts', 'companies'] as const) {
    sim.createObjects(
      TOKEN,
      type,
      workload.seed.filter((s) => s.objectType === type).map((s) => ({ id: s.id, properties: s.properties })),
    );
  }
  line(`simulator on ${sim.url}; queue "${queueName}" on ${config.REDIS_URL}`);

  const logger = pino({ level: 'warn' });
  const workers = [1, 2].map(() =>
    createWorker({
      redisUrl: config.REDIS_URL,
      queueName,
      accounts: { default: { token: TOKEN } },
      hubspotBaseUrl: sim.url,
      batchLingerMs: 100,
      backoffBaseMs: 200,
      backoffMaxMs: 2000,
      logger,
    }),
  );
  const producer = createProducer({ redis: config.REDIS_URL, queueName });
  let exitCode = 0;
  try {
    const rejected = BAD_RECORDS.map((r, i) => ({ i, parsed: parseUpdate(r) })).filter((x) => !x.parsed.ok);
    line(`\nvalidation: ${rejected.length} bad records rejected before enqueue, each named:`);
    for (const { i, parsed } of rejected)
      if (!parsed.ok) line(`  record ${i + 1}: ${parsed.issues.join('; ')}`);

    const updates: UpdateRequest[] = workload.updates;
    const results = await producer.enqueueMany(updates);
    const ids = results.map((r) => r.objectWriteTraceId);
    line(
      `enqueued ${ids.length} updates (${workload.expectedFailures.size} are bound to fail: missing objects or poison values)`,
    );
    await Promise.all(workers.map((w) => w.start()));

    const deadline = Date.now() + 120_000;
    let lastLine = 0;
    for (;;) {
      const stats = await redis.hgetall(keys.stats);
      const done = ['succeeded', 'failed', 'superseded'].reduce((n, s) => n + Number(stats[s] ?? 0), 0);
      const calls = sim.calls().filter((c) => c.path.endsWith('/batch/update')).length;
      const text = `progress: ${done}/${ids.length} updates finished, ${calls} HubSpot calls`;
      // A terminal gets one line redrawn in place; a log gets a line per second.
      if (process.stdout.isTTY) process.stdout.write(`\r${text}   `);
      else if (Date.now() - lastLine >= 1000 || done >= ids.length) {
        line(text);
        lastLine = Date.now();
      }
      if (done >= ids.length || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (process.stdout.isTTY) line('');
    const outcomes = await producer.getOutcomes(ids);
    const byStatus: Record<string, number> = {};
    const failures: Record<string, number> = {};
    for (const o of outcomes) {
      const status = o?.status ?? 'missing';
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      if (o?.error && o.status === 'failed')
        failures[o.error.category] = (failures[o.error.category] ?? 0) + 1;
    }
    const calls = sim.calls().filter((c) => c.path.endsWith('/batch/update'));
    const inputs = calls.reduce((n, c) => n + c.inputCount, 0);
    const stats = sim.stats();
    line('\nsummary');
    line(
      `  outcomes:        ${Object.entries(byStatus)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    line(
      `  failed by cause: ${
        Object.entries(failures)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }`,
    );
    line(
      `  HubSpot calls:   ${calls.length} batch updates (${stats.calls} API calls in all) for ${ids.length} updates`,
    );
    line(`  batch fill:      ${(inputs / Math.max(1, calls.length)).toFixed(1)} inputs per call (max 100)`);
    line(
      `  faults injected: ${
        Object.entries(stats.faults)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }`,
    );
    line(`  429s:            ${stats.byStatus['429'] ?? 0}`);
    line(`  elapsed:         ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const unfinished = outcomes.filter(
      (o) => !o || !['succeeded', 'failed', 'superseded'].includes(o.status),
    );
    if (unfinished.length > 0) {
      line(`  ${unfinished.length} updates did not finish in time`);
      exitCode = 1;
    }
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await producer.close();
    await sim.close();
    // The demo's queue is its own and its workers are closed (one that closed late may still look alive).
    await createQueueAdmin({ redis, queueName }).obliterate({ force: true });
    await redis.quit();
  }
  return exitCode;
}
