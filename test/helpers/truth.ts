import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import type { Outcome } from '../../src/outcomes/outcome.js';
import type { Simulator } from '../../src/simulator/index.js';
import { expectedFinalState, type Workload } from '../../src/simulator/workload.js';
import { TOKEN } from './pipeline.js';

/** Properties whose value in the simulator differs from the last value enqueued for them. */
export function staleProperties(sim: Simulator, expected: Map<string, Record<string, string>>): string[] {
  const stale: string[] = [];
  for (const [key, props] of expected) {
    const [type, id] = key.split('|') as [string, string];
    const stored = sim.getObject(TOKEN, type, id)?.properties ?? {};
    for (const [prop, value] of Object.entries(props)) {
      if (stored[prop] !== value) stale.push(`${key}.${prop}=${stored[prop]} (want ${value})`);
    }
  }
  return stale;
}

/**
 * The promises for a workload: every update terminal (nothing lost or stuck), no valid update failed, every
 * invalid one failed with the right category, and HubSpot ends at the last enqueued value of every property.
 */
export function assertTruthful(sim: Simulator, workload: Workload, outcomes: Array<Outcome | null>): void {
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
  expect(staleProperties(sim, expectedFinalState(workload)), 'properties on an older value').toEqual([]);
}

/** Nothing of the queue is left in flight, held or waiting once every update is terminal. */
export async function assertDrained(redis: Redis, queueName: string): Promise<void> {
  const k = queueKeys(queueName);
  const [inflight, leases, delayed, wait, groups] = await Promise.all([
    redis.hlen(k.inflight),
    redis.zcard(k.leases),
    redis.zcard(k.delayed),
    redis.llen(k.wait),
    redis.smembers(k.groups),
  ]);
  const pending = await Promise.all(groups.map((g) => redis.zcard(k.pending(g))));
  expect({ inflight, leases, delayed, wait, pending: pending.reduce((a, b) => a + b, 0) }).toEqual({
    inflight: 0,
    leases: 0,
    delayed: 0,
    wait: 0,
    pending: 0,
  });
}

/** Counts outcomes by status, for the figures a test prints. */
export function countBy(outcomes: Array<Outcome | null>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o?.status ?? 'missing'] = (counts[o?.status ?? 'missing'] ?? 0) + 1;
  return counts;
}
