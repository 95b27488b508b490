import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import type { Outcome } from '../../src/outcomes/outcome.js';
import { createProducer } from '../../src/producer/producer.js';
import type { Simulator } from '../../src/simulator/index.js';
import { expectedFinalState, generateWorkload, type Workload } from '../../src/simulator/workload.js';
import {
  boundedWaits,
  spawnWorker,
  TOKEN,
  testProducer,
  testQueue,
  testSimulator,
  waitFor,
} from '../helpers/pipeline.js';
import { privateRedis } from '../helpers/private-redis.js';
import { onCleanup, redisUrl, track } from '../helpers/resources.js';
import { seedWorkload } from '../helpers/workload.js';

/** The four zeros: nothing lost, nothing diverged, no valid update failed, no invalid update succeeded. */
function assertTruthful(sim: Simulator, workload: Workload, outcomes: Array<Outcome | null>): void {
  const lost = outcomes.filter((o) => !o || !['succeeded', 'failed', 'superseded'].includes(o.status));
  expect(lost, 'updates without a terminal outcome').toHaveLength(0);
  const validFailed = outcomes.filter((o, i) => o?.status === 'failed' && !workload.expectedFailures.has(i));
  expect(validFailed, 'valid updates that failed').toEqual([]);
  const invalidSucceeded = outcomes.filter(
    (o, i) => o?.status !== 'failed' && workload.expectedFailures.has(i),
  );
  expect(invalidSucceeded, 'invalid updates not failed').toEqual([]);
  for (const [i, o] of outcomes.entries()) {
    if (workload.expectedFailures.has(i))
      expect(o?.error?.category, `update ${i}`).toMatch(/OBJECT_NOT_FOUND|VALIDATION_ERROR/);
  }
  const diverged: string[] = [];
  for (const [key, props] of expectedFinalState(workload)) {
    const [type, id] = key.split('|') as [string, string];
    const stored = sim.getObject(TOKEN, type, id)?.properties ?? {};
    for (const [prop, value] of Object.entries(props))
      if (stored[prop] !== value) diverged.push(`${key}.${prop}`);
  }
  expect(diverged, 'properties that differ from the last enqueued value').toEqual([]);
}

const workerEnv = (queueName: string, sim: Simulator, extra: Record<string, string> = {}) => ({
  QUEUE_NAME: queueName,
  HUBSPOT_BASE_URL: sim.url,
  HUBSPOT_ACCESS_TOKEN: TOKEN,
  LEASE_MS: '3000',
  BATCH_LINGER_MS: '50',
  BACKOFF_BASE_MS: '100',
  BACKOFF_MAX_MS: '2000',
  HTTP_TIMEOUT_MS: '2000',
  ...extra,
});

async function terminalCount(redis: Redis, queueName: string): Promise<number> {
  const stats = await redis.hgetall(queueKeys(queueName).stats);
  return ['succeeded', 'failed', 'superseded'].reduce((n, s) => n + Number(stats[s] ?? 0), 0);
}

describe('chaos', () => {
  it('5,000 updates through faults, poison, missing objects and a SIGKILLed replica: the four zeros hold', async () => {
    const sim = await testSimulator({
      seed: 5,
      latencyMs: { min: 5, max: 40 },
      faults: { error5xx: 0.05, canceled: 0.05, ambiguous504: 0.03, reset: 0.02 },
    });
    const queueName = testQueue('chaos');
    const workload = generateWorkload({
      updates: 5000,
      objectsPerType: 1500,
      idPropertyShare: 0.2,
      missingShare: 0.01,
      poisonShare: 0.005,
      seed: 9,
    });
    seedWorkload(sim, workload);
    const producer = testProducer(queueName);
    const ids = (await producer.enqueueMany(workload.updates)).map((r) => r.objectWriteTraceId);

    const probe = new Redis(redisUrl());
    probe.on('error', () => {});
    const closeProbe = track('probe');
    onCleanup(() => {
      probe.disconnect();
      closeProbe();
    });
    const doomed = spawnWorker(workerEnv(queueName, sim));
    spawnWorker(workerEnv(queueName, sim));
    await waitFor(async () => (await terminalCount(probe, queueName)) >= 0.3 * ids.length, {
      what: '30% of updates finished',
    });
    doomed.kill('SIGKILL');
    spawnWorker(workerEnv(queueName, sim));

    // Bounded by the test's timeout, so a stuck update fails the wait, not the runner's bare timeout.
    const outcomes = await producer.waitForOutcomes(ids);
    assertTruthful(sim, workload, outcomes);

    const calls = sim.calls();
    const selfCaused = calls.filter((c) => c.status === 400 || c.status === 429).length;
    const batches = calls.filter((c) => c.path.endsWith('/batch/update'));
    console.info(
      `chaos: ${ids.length} updates, ${batches.length} batch calls (${calls.length} API calls), faults ${JSON.stringify(sim.stats().faults)}, self-caused errors ${selfCaused}, outcomes ${JSON.stringify(countBy(outcomes))}`,
    );
    expect(
      selfCaused / calls.length,
      `${selfCaused} self-caused errors in ${calls.length} calls`,
    ).toBeLessThan(0.01);
  });

  it('Redis restarted mid-drain (AOF on, same data dir): the four zeros hold for 20,000 updates', async () => {
    const redis = await privateRedis();
    const sim = await testSimulator({
      seed: 6,
      defaultRateLimit: { maxRequests: 1000, windowMs: 10_000 },
    });
    const queueName = testQueue('restart');
    const workload = generateWorkload({
      updates: 20_000,
      objectsPerType: 6000,
      idPropertyShare: 0.2,
      missingShare: 0.01,
      seed: 4,
    });
    seedWorkload(sim, workload);
    const producer = boundedWaits(createProducer({ redis: redis.url, queueName }));
    const closeProducer = track('producer');
    onCleanup(async () => {
      await producer.close();
      closeProducer();
    });
    const ids = (await producer.enqueueMany(workload.updates)).map((r) => r.objectWriteTraceId);
    spawnWorker(workerEnv(queueName, sim, { REDIS_URL: redis.url, RATE_LIMIT_MAX: '1000' }));

    const probe = new Redis(redis.url, { maxRetriesPerRequest: null });
    probe.on('error', () => {});
    const closeProbe = track('probe');
    onCleanup(() => {
      probe.disconnect();
      closeProbe();
    });
    await waitFor(async () => (await terminalCount(probe, queueName)) >= 0.3 * ids.length, {
      what: '30% of updates finished',
    });
    // Down for longer than a lease, so leases lapse while Redis is away, as in a slow restart.
    await redis.restart({ downMs: 10_000 });
    const outcomes = await producer.waitForOutcomes(ids);
    console.info(
      `redis restart: ${ids.length} updates, ${sim.calls().length} API calls, outcomes ${JSON.stringify(countBy(outcomes))}`,
    );
    assertTruthful(sim, workload, outcomes);
  });
});

function countBy(outcomes: Array<Outcome | null>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o?.status ?? 'missing'] = (counts[o?.status ?? 'missing'] ?? 0) + 1;
  return counts;
}
