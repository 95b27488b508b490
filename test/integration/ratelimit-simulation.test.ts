import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import type { AccountBudget } from '../../src/ratelimit/budget.js';
import { defaultMarginMs } from '../../src/ratelimit/estimate.js';
import { RateLimiter } from '../../src/ratelimit/limiter.js';
import { seededRandom } from '../../src/simulator/workload.js';
import { cleanupQueue, testRedis, uniqueQueueName } from '../helpers/resources.js';
import { maxInAnyWindow } from '../helpers/rolling-window.js';

/**
 * Steady demand in virtual time: replicas whose callers always have something to send, sleep exactly as
 * `waitForGrant` does (the wait, plus its jitter, plus timer lateness) and whose calls reach HubSpot after a
 * latency that varies by up to the margin. Real Lua scripts, virtual clock: exact and independent of CI speed.
 */
interface Scenario {
  budget: AccountBudget;
  marginMs?: number;
  replicas: number;
  callersPerReplica: number;
  durationMs: number;
  seed: number;
  /** HubSpot's Secondly header (older keys' SECONDLY policy), reported before the first call. */
  secondly?: number;
}

interface Outcome {
  grants: number[];
  arrivals: number[];
  share: number;
  guardMs: number;
}

async function simulate(scenario: Scenario): Promise<Outcome> {
  const { budget, replicas, callersPerReplica, durationMs } = scenario;
  const random = seededRandom(scenario.seed);
  const start = Date.UTC(2026, 2, 1, 12);
  const clock = { now: start };
  const queue = uniqueQueueName('ratelimit-sim');
  cleanupQueue(queue);
  const keys = queueKeys(queue);
  const limiters = Array.from(
    { length: replicas },
    () =>
      new RateLimiter({
        redis: testRedis(),
        keys,
        now: () => clock.now,
        ...(scenario.marginMs !== undefined ? { marginMs: scenario.marginMs } : {}),
      }),
  );
  const margin = scenario.marginMs ?? defaultMarginMs(budget.windowMs);
  if (scenario.secondly !== undefined) {
    const report = {
      max: budget.maxRequests,
      remaining: budget.maxRequests,
      intervalMs: budget.windowMs,
      secondly: scenario.secondly,
    };
    await limiters[0]!.report('acct', undefined, report, budget);
  }
  const callers = limiters.flatMap((limiter) =>
    Array.from({ length: callersPerReplica }, () => ({ limiter, nextTry: start + random() * 5 })),
  );
  const grants: number[] = [];
  const arrivals: number[] = [];
  for (;;) {
    const caller = callers.reduce((a, b) => (b.nextTry < a.nextTry ? b : a));
    if (caller.nextTry >= start + durationMs) break;
    clock.now = caller.nextTry;
    const result = await caller.limiter.acquire('acct', budget);
    if (result.granted) {
      grants.push(result.at);
      arrivals.push(result.at + 40 + random() * margin);
      caller.nextTry = clock.now + random();
    } else {
      const jitter = random() * Math.min(20, result.waitMs * 0.1);
      caller.nextTry = clock.now + result.waitMs + jitter + random() * 2;
    }
  }
  // Throughput away from the edges: from two windows in to one window before the end.
  const from = start + 2 * budget.windowMs;
  const to = start + durationMs - budget.windowMs;
  const inside = grants.filter((t) => t >= from && t < to).length;
  const share = inside / ((to - from) / budget.windowMs) / budget.maxRequests;
  return { grants, arrivals, share, guardMs: budget.windowMs + margin };
}

describe('RateLimiter under steady demand (virtual time)', () => {
  const cases: Array<[string, Scenario, number]> = [
    [
      'HubSpot Starter, 100 per 10 s, default margin',
      {
        budget: { maxRequests: 100, windowMs: 10_000 },
        replicas: 4,
        callersPerReplica: 2,
        durationMs: 120_000,
        seed: 1,
      },
      0.97,
    ],
    [
      'Professional, 190 per 10 s, default margin',
      {
        budget: { maxRequests: 190, windowMs: 10_000 },
        replicas: 3,
        callersPerReplica: 3,
        durationMs: 60_000,
        seed: 2,
      },
      0.97,
    ],
    [
      'short window, 10 per 500 ms, 5 ms margin',
      {
        budget: { maxRequests: 10, windowMs: 500 },
        marginMs: 5,
        replicas: 4,
        callersPerReplica: 2,
        durationMs: 10_000,
        seed: 3,
      },
      0.97,
    ],
    [
      // The default margin here is 3% of the window, which bounds the share at 500 / 515 = 97.1%.
      'short window, 10 per 500 ms, default margin',
      {
        budget: { maxRequests: 10, windowMs: 500 },
        replicas: 4,
        callersPerReplica: 2,
        durationMs: 10_000,
        seed: 4,
      },
      0.95,
    ],
    [
      // Ten per second in every second as well: the tenth of the window widened by the same margin bounds the
      // share at 1000 / 1110 = 90.1%.
      'older key with a SECONDLY policy, 100 per 10 s and 10 per s, default margin',
      {
        budget: { maxRequests: 100, windowMs: 10_000 },
        replicas: 4,
        callersPerReplica: 2,
        durationMs: 60_000,
        seed: 6,
        secondly: 10,
      },
      0.88,
    ],
  ];

  it.each(cases)(
    '%s: never over max at HubSpot, sustains the expected share',
    async (_name, scenario, minShare) => {
      const { grants, arrivals, share, guardMs } = await simulate(scenario);
      const { maxRequests, windowMs } = scenario.budget;
      expect(maxInAnyWindow(grants, guardMs - 1)).toBeLessThanOrEqual(maxRequests);
      expect(maxInAnyWindow(arrivals, windowMs)).toBeLessThanOrEqual(maxRequests);
      if (scenario.secondly !== undefined)
        expect(maxInAnyWindow(arrivals, windowMs / 10)).toBeLessThanOrEqual(scenario.secondly);
      expect(share).toBeGreaterThanOrEqual(minShare);
      expect(share).toBeLessThanOrEqual(1);
    },
  );
});

describe('RateLimiter sharing the account with another client (virtual time)', () => {
  it('learns the outside usage from HubSpot headers and leaves room for it', async () => {
    const budget: AccountBudget = { maxRequests: 100, windowMs: 10_000 };
    const random = seededRandom(5);
    const start = Date.UTC(2026, 2, 1, 12);
    const clock = { now: start };
    const queue = uniqueQueueName('ratelimit-sim');
    cleanupQueue(queue);
    const keys = queueKeys(queue);
    const limiters = [0, 1, 2].map(() => new RateLimiter({ redis: testRedis(), keys, now: () => clock.now }));
    const callers = limiters.map((limiter) => ({ limiter, nextTry: start }));
    const durationMs = 90_000;
    // The backend's own calls: 20 per window, evenly spread.
    const outside = Array.from({ length: durationMs / 500 }, (_, i) => start + 250 + i * 500);
    const ours: number[] = [];
    const responses: Array<{
      due: number;
      limiter: RateLimiter;
      grant: { grantId: string; at: number };
      arrival: number;
    }> = [];
    // Calls HubSpot would answer with 429: overall, and once the estimate had two windows to learn.
    let rejected = 0;
    let rejectedLater = 0;
    const countIn = (times: number[], from: number, to: number) =>
      times.filter((t) => t > from && t <= to).length;

    for (;;) {
      const caller = callers.reduce((a, b) => (b.nextTry < a.nextTry ? b : a));
      if (caller.nextTry >= start + durationMs) break;
      // Answers come back 200 ms after arrival, once every earlier arrival is known.
      responses.sort((a, b) => a.due - b.due);
      while (responses[0] && responses[0].due <= caller.nextTry) {
        const { due, limiter, grant, arrival } = responses.shift()!;
        clock.now = due;
        const used =
          countIn(ours, arrival - budget.windowMs, arrival) +
          countIn(outside, arrival - budget.windowMs, arrival);
        if (used > budget.maxRequests) {
          rejected++;
          if (arrival >= start + 2 * budget.windowMs) rejectedLater++;
        }
        const remaining = Math.max(0, budget.maxRequests - used);
        await limiter.report('acct', grant, { max: 100, remaining, intervalMs: 10_000 }, budget);
      }
      clock.now = caller.nextTry;
      const result = await caller.limiter.acquire('acct', budget);
      if (result.granted) {
        const arrival = result.at + 40 + random() * 110;
        ours.push(arrival);
        responses.push({ due: arrival + 200, limiter: caller.limiter, grant: result, arrival });
        caller.nextTry = clock.now + random();
      } else {
        caller.nextTry =
          clock.now + result.waitMs + random() * Math.min(20, result.waitMs * 0.1) + random() * 2;
      }
    }

    const state = await limiters[0]!.state('acct', budget);
    expect(state.outsideUsageEstimate).toBeGreaterThan(15);
    expect(state.outsideUsageEstimate).toBeLessThan(25);
    // A few 429s while it learns, none after; and we still use most of what the backend leaves us.
    expect(rejected / ours.length).toBeLessThan(0.02);
    expect(rejectedLater).toBe(0);
    const steady =
      countIn(ours, start + 30_000, start + durationMs) / ((durationMs - 30_000) / budget.windowMs);
    expect(steady).toBeGreaterThan(75);
    expect(steady).toBeLessThanOrEqual(80);
  });
});
