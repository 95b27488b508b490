// The rate limiter's real Lua scripts on a virtual clock: replicas that keep a batch ready for the next slot (as
// the worker does), with the delays a real host adds (timer lateness, preparing the next batch, the request
// leaving after its grant, occasional stalls), and HubSpot counting arrivals in its rolling window. Exact and
// fast: minutes of drain in seconds, independent of how busy the machine is.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createQueueAdmin, queueKeys } from '../../dist/index.js';
import { RateLimiter } from '../../dist/ratelimit/limiter.js';

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * options: { max, windowMs, replicas, aheadPerReplica, durationMs, seed, stallEveryMs, stallMs, prepMs: [min,max],
 *            leaveMs: [min,max], networkMs: [min,max], marginMs?, outsidePerWindow? }
 * Returns the grant and arrival times plus the figures.
 */
export async function simulateLimiter(redisUrl, options) {
  const {
    max,
    windowMs = 10_000,
    replicas = 1,
    aheadPerReplica = 1,
    durationMs = 120_000,
    seed = 1,
    prepMs = [2, 10],
    leaveMs = [1, 5],
    networkMs = [10, 40],
    timerLateMs = [0, 2],
    stallEveryMs = 3000,
    stallMs = [50, 300],
  } = options;
  const random = prng(seed);
  const between = ([lo, hi]) => lo + (hi - lo) * random();
  const start = Date.UTC(2026, 2, 1, 12);
  const clock = { now: start };
  const queue = `rl-model-${randomUUID().slice(0, 8)}`;
  const keys = queueKeys(queue);
  const redis = new Redis(redisUrl);
  const budget = { maxRequests: max, windowMs };
  const limiters = Array.from(
    { length: replicas },
    () =>
      new RateLimiter({
        redis,
        keys,
        now: () => clock.now,
        ...(options.marginMs !== undefined ? { marginMs: options.marginMs } : {}),
      }),
  );
  // Events: a batch asks for its grant at `at`.
  const events = [];
  const push = (e) => events.push(e);
  for (let r = 0; r < replicas; r++) {
    for (let a = 0; a < aheadPerReplica; a++)
      push({ at: start + between(prepMs) + random() * 50, replica: r });
  }
  // Each replica's event loop is stalled now and then: nothing of it runs until the stall ends.
  const stalledUntil = new Array(replicas).fill(0);
  const nextStall = Array.from({ length: replicas }, () => start + random() * stallEveryMs);
  const grants = [];
  const arrivals = [];
  let asks = 0;
  while (events.length > 0) {
    events.sort((x, y) => x.at - y.at);
    const e = events.shift();
    if (e.at >= start + durationMs) break;
    if (e.at >= nextStall[e.replica]) {
      stalledUntil[e.replica] = nextStall[e.replica] + between(stallMs);
      nextStall[e.replica] += stallEveryMs * (0.5 + random());
    }
    if (e.at < stalledUntil[e.replica]) {
      push({ ...e, at: stalledUntil[e.replica] + between(timerLateMs) });
      continue;
    }
    clock.now = e.at;
    asks++;
    const limiter = limiters[e.replica];
    const result = await limiter.acquire('acct', budget);
    if (!result.granted) {
      // waitForGrant sleeps the exact wait plus its jitter; the timer fires a little late.
      const jitter = random() * Math.min(2, result.waitMs * 0.05);
      push({ ...e, at: clock.now + result.waitMs + jitter + between(timerLateMs) });
      continue;
    }
    grants.push(result.at);
    const left = result.at + between(leaveMs);
    if (left - result.at > 2) {
      clock.now = left;
      await limiter.departed('acct', { grantId: result.grantId, at: result.at, localAt: result.at }, left);
    }
    arrivals.push(left + between(networkMs));
    // The grant wakes the loop, which prepares the replica's next batch.
    push({ at: result.at + between(prepMs), replica: e.replica });
  }
  await createQueueAdmin({ redis, queueName: keys.queueName }).obliterate();
  await redis.quit();
  return { grants, arrivals, asks, ...figures(arrivals, max, windowMs, start, durationMs) };
}

/** Share of the limit in steady state, most arrivals in a rolling window, longest gap between arrivals. */
export function figures(arrivals, max, windowMs, start, durationMs) {
  const t = [...arrivals].sort((a, b) => a - b);
  const from = start + 2 * windowMs;
  const to = start + durationMs - windowMs;
  const inside = t.filter((x) => x >= from && x < to);
  const share = inside.length / (((to - from) / windowMs) * max);
  let longestGapMs = 0;
  for (let i = 1; i < inside.length; i++) longestGapMs = Math.max(longestGapMs, inside[i] - inside[i - 1]);
  let mostInWindow = 0;
  let lo = 0;
  for (let hi = 0; hi < t.length; hi++) {
    while (t[lo] <= t[hi] - windowMs) lo++;
    mostInWindow = Math.max(mostInWindow, hi - lo + 1);
  }
  return { share, longestGapMs, intervalMs: windowMs / max, mostInWindow };
}
