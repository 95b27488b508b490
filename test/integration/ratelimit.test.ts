import { describe, expect, it } from 'vitest';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import { queueKeys } from '../../src/keys.js';
import type { AccountBudget, Grant } from '../../src/ratelimit/budget.js';
import { nextDailyResetMs } from '../../src/ratelimit/daily.js';
import { RateLimiter, type RateLimiterOptions } from '../../src/ratelimit/limiter.js';
import { BudgetPausedError } from '../../src/ratelimit/wait.js';
import type { PreparedBatch } from '../../src/worker/prepare.js';
import { sendBatch } from '../../src/worker/send.js';
import { testSimulator, waitFor } from '../helpers/pipeline.js';
import { cleanupQueue, onCleanup, testRedis, track, uniqueQueueName } from '../helpers/resources.js';
import { maxInAnyWindow } from '../helpers/rolling-window.js';

const ACCOUNT = 'acct-1';
const BUDGET: AccountBudget = { maxRequests: 10, windowMs: 500 };
const GUARD_MS = 515; // window + default margin (1% + 10 ms)

/** Limiter replicas of one fresh queue, each on its own Redis connection. */
function replicas(count: number, options: Partial<RateLimiterOptions> = {}): RateLimiter[] {
  const queue = uniqueQueueName('ratelimit');
  cleanupQueue(queue);
  const keys = queueKeys(queue);
  return Array.from({ length: count }, () => new RateLimiter({ redis: testRedis(), keys, ...options }));
}

async function redisNow(): Promise<number> {
  const [seconds, micros] = await testRedis().time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('RateLimiter across replicas', () => {
  it('never grants more than max in any rolling window, with callers on four replicas', async () => {
    const limiters = replicas(4);
    const used: number[] = [];
    const deadline = Date.now() + 2_000;
    const caller = async (limiter: RateLimiter) => {
      while (Date.now() < deadline) used.push((await limiter.waitForGrant(ACCOUNT, BUDGET)).at);
    };
    await Promise.all(limiters.flatMap((limiter) => [caller(limiter), caller(limiter)]));

    expect(used.length).toBeGreaterThan(BUDGET.maxRequests);
    // HubSpot's raw window, and the guarded window the limiter actually enforces.
    expect(maxInAnyWindow(used, BUDGET.windowMs)).toBeLessThanOrEqual(BUDGET.maxRequests);
    expect(maxInAnyWindow(used, GUARD_MS - 1)).toBeLessThanOrEqual(BUDGET.maxRequests);
  });

  it('answers a full window with a positive wait no longer than the guarded window', async () => {
    // No pacing: ten grants at once fill the window.
    const [limiter] = replicas(1, { spacingFactor: 0, catchUpMs: 1e15 });
    const grants: Grant[] = [];
    for (let i = 0; i < BUDGET.maxRequests; i++) {
      const result = await limiter!.acquire(ACCOUNT, BUDGET);
      expect(result.granted).toBe(true);
      if (result.granted) grants.push(result);
    }
    const full = await limiter!.acquire(ACCOUNT, BUDGET);
    expect(full.granted).toBe(false);
    if (full.granted) return;
    expect(full.reason).toBe('window');
    expect(full.waitMs).toBeGreaterThan(0);
    expect(full.waitMs).toBeLessThanOrEqual(GUARD_MS);
    const now = await redisNow();
    // The slot opens when the oldest grant leaves the guarded window.
    expect(full.waitMs).toBeGreaterThanOrEqual(grants[0]!.at + GUARD_MS - now - 5);
  });

  it('paces grants: a second immediate acquire waits at most one interval', async () => {
    const [limiter] = replicas(1);
    expect((await limiter!.acquire(ACCOUNT, BUDGET)).granted).toBe(true);
    const next = await limiter!.acquire(ACCOUNT, BUDGET);
    expect(next.granted).toBe(false);
    if (next.granted) return;
    expect(next.reason).toBe('window');
    expect(next.waitMs).toBeGreaterThan(0);
    expect(next.waitMs).toBeLessThanOrEqual(Math.ceil(GUARD_MS / BUDGET.maxRequests));
  });

  it('peeks without taking: the slot it reports free is still there to acquire', async () => {
    const queue = uniqueQueueName('peek');
    cleanupQueue(queue);
    const keys = queueKeys(queue);
    const [a, b] = [0, 1].map(() => new RateLimiter({ redis: testRedis(), keys }));
    const look = await a!.peek(ACCOUNT, BUDGET);
    expect(look.granted).toBe(true);
    expect((await b!.acquire(ACCOUNT, BUDGET)).granted).toBe(true);
    // Now pacing holds the next call back, and a peek says so just as an acquire does.
    const after = await a!.peek(ACCOUNT, BUDGET);
    expect(after.granted).toBe(false);
    if (after.granted) return;
    expect(after.reason).toBe('window');
    expect(after.waitMs).toBeGreaterThan(0);
    // Only the acquired grant is in the log.
    expect(await testRedis().zcard(keys.rate(ACCOUNT).log)).toBe(1);
  });

  it('shares a pause and its resume across replicas', async () => {
    const waits: string[] = [];
    const [a, b] = replicas(2, { pauseRecheckMs: 50, onWait: (_account, _ms, reason) => waits.push(reason) });
    await a!.pause(ACCOUNT, {
      durationMs: 10_000,
      reason: 'rate_limit',
      policyName: 'TEN_SECONDLY_ROLLING',
      detail: 'HubSpot answered 429',
    });
    const refused = await b!.acquire(ACCOUNT, BUDGET);
    expect(refused).toMatchObject({ granted: false, reason: 'paused' });
    if (refused.granted) return;
    expect(refused.waitMs).toBeGreaterThan(9_000);
    expect(refused.waitMs).toBeLessThanOrEqual(10_000);
    expect(await b!.state(ACCOUNT)).toMatchObject({
      paused: true,
      pauseReason: 'rate_limit',
      policyName: 'TEN_SECONDLY_ROLLING',
      detail: 'HubSpot answered 429',
    });

    const waiting = b!.waitForGrant(ACCOUNT, BUDGET);
    // Resumed only once b is waiting through the pause, however long its first look takes.
    await waitFor(() => waits.includes('paused'), { what: 'b to wait through the pause' });
    await a!.resume(ACCOUNT);
    const grant = await waiting;
    expect(grant.granted).toBe(true);
    expect(waits).toContain('paused');
    expect((await a!.state(ACCOUNT)).paused).toBe(false);
  });

  it('keeps the later of two pauses', async () => {
    const [a, b] = replicas(2);
    await a!.pause(ACCOUNT, { durationMs: 60_000, reason: 'auth', detail: 'credentials rejected' });
    await b!.pause(ACCOUNT, { durationMs: 1_000, reason: 'rate_limit' });
    const state = await a!.state(ACCOUNT);
    expect(state.pauseReason).toBe('auth');
    expect(state.pausedUntil! - (await redisNow())).toBeGreaterThan(50_000);
  });

  it('pauses a DAILY 429 until the daily reset', async () => {
    const [a, b] = replicas(2);
    const now = await redisNow();
    const untilMs = nextDailyResetMs(now);
    await a!.pause(ACCOUNT, { untilMs, reason: 'daily', policyName: 'DAILY' });
    const refused = await b!.acquire(ACCOUNT, BUDGET);
    expect(refused).toMatchObject({ granted: false, reason: 'daily' });
    if (refused.granted) return;
    expect(Math.abs(refused.waitMs - (untilMs - now))).toBeLessThan(1_000);
    expect(await b!.state(ACCOUNT)).toMatchObject({
      paused: true,
      pauseReason: 'daily',
      pausedUntil: untilMs,
    });
  });

  it('stops waiting when aborted', async () => {
    const [limiter] = replicas(1);
    await limiter!.pause(ACCOUNT, { durationMs: 60_000, reason: 'manual' });
    const abort = new AbortController();
    const waiting = limiter!.waitForGrant(ACCOUNT, BUDGET, abort.signal);
    setTimeout(() => abort.abort(new Error('shutting down')), 50);
    await expect(waiting).rejects.toThrow('shutting down');
  });

  it('gives up waiting through a pause longer than the caller would hold its batch', async () => {
    const [limiter, other] = replicas(2);
    await other!.pause(ACCOUNT, { durationMs: 60_000, reason: 'rate_limit' });
    const error = await limiter!
      .waitForGrant(ACCOUNT, BUDGET, undefined, { maxPauseMs: 1_000 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(BudgetPausedError);
    expect(error).toMatchObject({ code: 'BUDGET_PAUSED', account: ACCOUNT, reason: 'paused' });
    // A short pause is waited out.
    await other!.resume(ACCOUNT);
    await other!.pause(ACCOUNT, { durationMs: 100, reason: 'rate_limit' });
    const grant = await limiter!.waitForGrant(ACCOUNT, BUDGET, undefined, { maxPauseMs: 1_000 });
    expect(grant.granted).toBe(true);
  });

  it('rejects budgets it cannot enforce', async () => {
    const [limiter] = replicas(1);
    await expect(limiter!.acquire(ACCOUNT, { maxRequests: 0, windowMs: 500 })).rejects.toThrow(RangeError);
    await expect(limiter!.pause(ACCOUNT, { reason: 'manual' })).rejects.toThrow(RangeError);
  });

  it('leaves a call that left at once where it was granted, and moves a late one to when it left, never back', async () => {
    const queue = uniqueQueueName('departed');
    cleanupQueue(queue);
    const keys = queueKeys(queue);
    const limiter = new RateLimiter({ redis: testRedis(), keys });
    const grant = await limiter.acquire(ACCOUNT, BUDGET);
    if (!grant.granted) throw new Error('expected a grant');
    expect(grant.localAt).toBeGreaterThan(0);
    const score = async () => Number(await testRedis().zscore(keys.rate(ACCOUNT).log, grant.grantId));
    expect(await limiter.departed(ACCOUNT, grant, grant.localAt + 1)).toBe(false);
    expect(await score()).toBe(grant.at);
    expect(await limiter.departed(ACCOUNT, grant, grant.localAt + 100)).toBe(true);
    expect(await score()).toBe(grant.at + 100);
    // A later, smaller report does not move it back.
    expect(await limiter.departed(ACCOUNT, grant, grant.localAt + 50)).toBe(false);
    expect(await score()).toBe(grant.at + 100);
  });

  it('moves a grant whose call left late to when it left, so later windows count it where HubSpot does', async () => {
    const sim = await testSimulator({ acceptAnyToken: true, autoCreate: true });
    const DELAY_MS = 80;
    // The token provider holds the call back after the grant, as a cold start or a busy event loop would.
    const client = createHubSpotClient({
      baseUrl: sim.url,
      tokenProvider: async () => {
        await new Promise((resolve) => setTimeout(resolve, DELAY_MS));
        return 'test-token';
      },
    });
    const clientDone = track('restamp test client');
    onCleanup(() => {
      client.close();
      clientDone();
    });
    const queue = uniqueQueueName('restamp');
    cleanupQueue(queue);
    const keys = queueKeys(queue);
    const limiter = new RateLimiter({ redis: testRedis(), keys });
    const grants: Grant[] = [];
    const batch: PreparedBatch = {
      account: ACCOUNT,
      objectType: 'contacts',
      group: `${ACCOUNT}|contacts`,
      inputs: [
        {
          input: { id: '1', properties: { firstname: 'Ada' }, objectWriteTraceId: 't-1' },
          objectKey: 'o-1',
          members: [],
          sequences: {},
        },
      ],
      early: [],
      merged: 0,
    };
    const fates = await sendBatch(batch, {
      port: client,
      budget: {
        waitForGrant: async (a, b, sig) => {
          const grant = await limiter.waitForGrant(a, b, sig);
          grants.push(grant);
          return grant;
        },
        report: (a, g, snapshot, b, call) => limiter.report(a, g, snapshot, b, call),
        pause: (a, options) => limiter.pause(a, options),
        departed: (a, g, sentAt) => limiter.departed(a, g, sentAt),
      },
      accountBudget: BUDGET,
      signal: new AbortController().signal,
      maxInlinePauseMs: 1_000,
      authPauseMs: 1_000,
    });
    expect(fates.get(0)?.kind).toBe('succeeded');
    expect(grants).toHaveLength(1);
    const [grant] = grants;
    const score = await testRedis().zscore(keys.rate(ACCOUNT).log, grant!.grantId);
    expect(Number(score) - grant!.at).toBeGreaterThanOrEqual(DELAY_MS);
  });
});
