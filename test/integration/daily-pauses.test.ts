import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { AccountStatus } from '../../src/admin/status.js';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import { queueKeys } from '../../src/keys.js';
import { nextDailyResetMs } from '../../src/ratelimit/daily.js';
import { RateLimiter } from '../../src/ratelimit/limiter.js';
import { DAILY_PROBE_DELAY_MS, DAILY_RESET_GRACE_MS } from '../../src/ratelimit/scripts.js';
import {
  TOKEN,
  testAdmin,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';
import { onCleanup, testRedis, track } from '../helpers/resources.js';

const DAY = 86_400_000;
/** Minutes east of UTC of the account in the first test (UTC+05:30): its day rolls over at 18:30 UTC. */
const IST = 330;

async function redisNow(): Promise<number> {
  const [seconds, micros] = await testRedis().time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** The `default` account's status, read as the `status` command reads it. */
async function accountStatus(queue: string, dailyLimit?: number): Promise<AccountStatus & { at: number }> {
  const settings = {
    token: TOKEN,
    maxRequests: 100,
    windowMs: 10_000,
    dailyReserve: 0,
    dailyResetUtcOffsetMinutes: IST,
    ...(dailyLimit !== undefined ? { dailyLimit } : {}),
  };
  const status = await testAdmin(queue, { accounts: new Map([['default', settings]]) }).status();
  const account = status.accounts.find((a) => a.account === 'default');
  if (!account) throw new Error('no status for the default account');
  return { ...account, at: status.at };
}

/** A reset offset (minutes east of UTC) that puts the account's local time near noon now: far from its reset. */
function noonOffset(now: number): number {
  const minute = Math.floor((now % DAY) / 60_000);
  let offset = (720 - minute + 1440) % 1440;
  if (offset > 840) offset -= 1440;
  return offset;
}

async function pausedGauge(registry: Registry, reason: string): Promise<number | undefined> {
  const values = (await registry.getSingleMetric('hbq_account_paused')?.get())?.values ?? [];
  return values.find((v) => v.labels.account === 'default' && v.labels.reason === reason)?.value;
}

function updates(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    objectType: 'contacts',
    id: String(5000 + i),
    properties: { firstname: `Day ${i}` },
  }));
}

describe('daily limits as pauses', () => {
  it('records a stop at the configured dailyLimit as a pause until the account’s own reset, in status and metrics; resume-account lifts it', async () => {
    const sim = await testSimulator({ autoCreate: true });
    const queue = testQueue('daily-stop');
    const producer = testProducer(queue);
    const registry = new Registry();
    await testWorker(queue, sim, {
      accounts: { default: { token: TOKEN, dailyLimit: 2, dailyResetUtcOffsetMinutes: IST } },
      batchMaxSize: 1,
      validateProperties: false,
      registry,
    });
    const traces = (await producer.enqueueMany(updates(3))).map((r) => r.objectWriteTraceId);

    let stopped: AccountStatus & { at: number } = await accountStatus(queue, 2);
    await waitFor(
      async () => {
        stopped = await accountStatus(queue, 2);
        return stopped.paused;
      },
      { what: 'the daily stop in status' },
    );
    expect(stopped).toMatchObject({ paused: true, pauseReason: 'daily', dailyCount: 2 });
    // The account's day ends at its local midnight (18:30 UTC), measured on Redis's clock.
    expect(stopped.pausedUntil).toBe(nextDailyResetMs(stopped.at, -IST * 60_000));
    expect(stopped.detail).toContain('dailyLimit 2');
    // The two calls of the day settle (the stop may come while the second is still out); the third waits.
    await waitFor(
      async () => (await producer.getOutcomes(traces)).filter((o) => o?.status === 'succeeded').length === 2,
      { what: 'the day’s two updates to succeed' },
    );
    const outcomes = await producer.getOutcomes(traces);
    expect(outcomes.map((o) => o?.status).sort()).toEqual(['queued', 'succeeded', 'succeeded']);
    await waitFor(async () => (await pausedGauge(registry, 'daily')) === 1, {
      what: 'hbq_account_paused{reason="daily"} = 1',
    });

    // What `resume-account` runs.
    await testAdmin(queue).resumeAccount('default');
    const done = await producer.waitForOutcomes(traces, { timeoutMs: 20_000 });
    expect(done.map((o) => [o.status, o.attempts])).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
      ['succeeded', 1],
    ]);
    expect((await accountStatus(queue, 2)).paused).toBe(false);
    expect(sim.stats().rateLimited).toEqual({});
  });

  it('records a stop at HubSpot’s reported Daily-Remaining as a pause; resume-account forgets the stale figure so the account really resumes', async () => {
    const sim = await testSimulator({
      autoCreate: true,
      portals: {
        [TOKEN]: { portalId: 'daily-remaining', maxRequests: 100, windowMs: 10_000, dailyLimit: 2 },
      },
    });
    const queue = testQueue('daily-remaining');
    const producer = testProducer(queue);
    const registry = new Registry();
    await testWorker(queue, sim, {
      accounts: { default: { token: TOKEN, dailyResetUtcOffsetMinutes: noonOffset(await redisNow()) } },
      batchMaxSize: 1,
      validateProperties: false,
      registry,
    });
    const traces = (await producer.enqueueMany(updates(3))).map((r) => r.objectWriteTraceId);

    // The stop comes as soon as the first answer's Daily-Remaining (1) is used; the second answer reports 0.
    await waitFor(
      async () => {
        const a = await accountStatus(queue);
        return a.paused && a.reportedDailyRemaining === 0;
      },
      { what: 'the daily stop in status' },
    );
    const stopped = await accountStatus(queue);
    expect(stopped).toMatchObject({ paused: true, pauseReason: 'daily', reportedDailyRemaining: 0 });
    await waitFor(async () => (await pausedGauge(registry, 'daily')) === 1, {
      what: 'hbq_account_paused{reason="daily"} = 1',
    });

    // HubSpot's day rolled over (or the account's limit was raised); the operator resumes the account.
    sim.setClockOffset(DAY);
    await testAdmin(queue).resumeAccount('default');
    const done = await producer.waitForOutcomes(traces, { timeoutMs: 20_000 });
    expect(done.map((o) => [o.status, o.attempts])).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
      ['succeeded', 1],
    ]);
    // The next answer anchored the daily figure afresh.
    expect((await accountStatus(queue)).reportedDailyRemaining).toBe(1);
  });

  it('a DAILY 429 right after the expected reset (HubSpot’s clock a little behind) pauses a second and probes, instead of a day', async () => {
    // Our account day starts at the beginning of the current minute of Redis's clock (the reset offset is
    // chosen so), HubSpot's clock runs behind ours: its day ends 4 s from now.
    const now = await redisNow();
    const minute = Math.floor((now % DAY) / 60_000);
    let offset = (1440 - minute) % 1440;
    if (offset > 840) offset -= 1440;
    const sinceReset = now % 60_000;
    const sim = await testSimulator({
      autoCreate: true,
      clockOffsetMs: now - Date.now() - sinceReset - 4_000,
      portals: {
        [TOKEN]: {
          portalId: 'behind',
          maxRequests: 100,
          windowMs: 10_000,
          dailyLimit: 1,
          dailyResetUtcOffsetMinutes: offset,
        },
      },
    });
    // HubSpot's day (the one about to end) is used up.
    const client = createHubSpotClient({ baseUrl: sim.url, tokenProvider: async () => TOKEN });
    const closed = track('client');
    onCleanup(() => {
      client.close();
      closed();
    });
    expect((await client.getProperties('default', 'contacts')).kind).toBe('http');

    const queue = testQueue('daily-probe');
    const producer = testProducer(queue);
    await testWorker(queue, sim, {
      accounts: { default: { token: TOKEN, dailyResetUtcOffsetMinutes: offset } },
      validateProperties: false,
    });
    const [r] = await producer.enqueueMany(updates(1));
    const [outcome] = await producer.waitForOutcomes([r?.objectWriteTraceId as string], {
      timeoutMs: 20_000,
    });
    expect(outcome).toMatchObject({ status: 'succeeded', attempts: 1 });
    // HubSpot refused at least once before its day rolled over: the probe, not luck, got it through.
    expect(sim.stats().rateLimited.DAILY).toBeGreaterThanOrEqual(1);
    // HubSpot's new day of one call is spent by it, and its answer says so within the grace: the account goes on
    // probing (a second apart), it is not stopped until the next reset.
    const state = await new RateLimiter({ redis: testRedis(), keys: queueKeys(queue) }).state('default');
    expect(state.pausedUntil ?? 0).toBeLessThan((await redisNow()) + 10_000);
  });
});

describe('DAILY pauses in the limiter', () => {
  const ACCOUNT = 'acct-daily';
  const BUDGET = { maxRequests: 10, windowMs: 1_000 };

  function virtualLimiter(startMs: number) {
    const queue = testQueue('daily-limiter');
    const clock = { now: startMs };
    const limiter = new RateLimiter({ redis: testRedis(), keys: queueKeys(queue), now: () => clock.now });
    return { clock, limiter };
  }

  it('counts a call that left late once against the Daily-Remaining its own answer reported', async () => {
    const { clock, limiter } = virtualLimiter(Date.UTC(2026, 2, 1, 12));
    const first = await limiter.acquire(ACCOUNT, BUDGET);
    if (!first.granted) throw new Error('no first grant');
    // It left 50 ms after its grant: the log moves it there.
    expect(await limiter.departed(ACCOUNT, first, first.localAt + 50)).toBe(true);
    await limiter.report(ACCOUNT, first, { daily: 2, dailyRemaining: 1 }, BUDGET);
    clock.now += 1_000;
    expect((await limiter.acquire(ACCOUNT, BUDGET)).granted).toBe(true);
    clock.now += 1_000;
    expect(await limiter.acquire(ACCOUNT, BUDGET)).toMatchObject({ granted: false, reason: 'daily' });
  });

  it('pauses until the account’s next reset on the limiter’s clock when the 429 comes mid-day', async () => {
    const anchor = -300 * 60_000; // UTC+05:00: midnight is 19:00 UTC
    const { limiter } = virtualLimiter(Date.UTC(2026, 2, 1, 12));
    const inForce = await limiter.pause(ACCOUNT, {
      untilDailyReset: { anchorMs: anchor },
      reason: 'daily',
      policyName: 'DAILY',
    });
    expect(inForce).toMatchObject({ untilMs: Date.UTC(2026, 2, 1, 19), reason: 'daily', ms: 7 * 3_600_000 });
    expect(await limiter.state(ACCOUNT)).toMatchObject({
      paused: true,
      pauseReason: 'daily',
      policyName: 'DAILY',
    });
  });

  it('after a 429 just past the reset, pauses a second, then lets one probe through at a time until HubSpot accepts one', async () => {
    const { clock, limiter } = virtualLimiter(Date.UTC(2026, 2, 2, 0, 0, 0, 300));
    const inForce = await limiter.pause(ACCOUNT, { untilDailyReset: { anchorMs: 0 }, reason: 'daily' });
    expect(inForce).toMatchObject({ ms: 1_000, reason: 'daily' });
    expect(await limiter.acquire(ACCOUNT, BUDGET)).toMatchObject({ granted: false, reason: 'daily' });

    clock.now += 1_000;
    const probe = await limiter.acquire(ACCOUNT, BUDGET);
    expect(probe.granted).toBe(true);
    // The others wait for the probe's answer.
    clock.now += 200;
    expect(await limiter.acquire(ACCOUNT, BUDGET)).toMatchObject({ granted: false, reason: 'daily' });
    if (!probe.granted) return;
    await limiter.report(ACCOUNT, probe, { daily: 1000, dailyRemaining: 999 }, BUDGET);
    expect((await limiter.state(ACCOUNT)).paused).toBe(false);
    expect((await limiter.acquire(ACCOUNT, BUDGET)).granted).toBe(true);
  });
  it('a Daily-Remaining of 0 read just after the reset (HubSpot’s day not rolled over yet) only probes, one call at a time, until HubSpot shows the new day', async () => {
    const { clock, limiter } = virtualLimiter(Date.UTC(2026, 2, 2, 0, 0, 0, 300));
    const first = await limiter.acquire(ACCOUNT, BUDGET);
    if (!first.granted) throw new Error('no first grant');
    // HubSpot computed the answer before its own midnight: the previous day's last figure.
    await limiter.report(ACCOUNT, first, { daily: 1000, dailyRemaining: 0 }, BUDGET);

    clock.now += 200;
    const probe = await limiter.acquire(ACCOUNT, BUDGET);
    expect(probe.granted).toBe(true);
    // One at a time: the others wait for the probe's answer.
    clock.now += 200;
    expect(await limiter.acquire(ACCOUNT, BUDGET)).toMatchObject({ granted: false, reason: 'daily' });
    if (!probe.granted) return;
    // Still the previous day's figure: the next probe comes a little later, not a day later.
    await limiter.report(ACCOUNT, probe, { daily: 1000, dailyRemaining: 0 }, BUDGET);
    const spaced = await limiter.acquire(ACCOUNT, BUDGET);
    expect(spaced).toMatchObject({ granted: false, reason: 'daily' });
    expect(spaced.granted ? 0 : spaced.waitMs).toBeLessThanOrEqual(DAILY_PROBE_DELAY_MS);

    clock.now += DAILY_PROBE_DELAY_MS;
    const next = await limiter.acquire(ACCOUNT, BUDGET);
    if (!next.granted) throw new Error('no second probe');
    // HubSpot's day rolled over: calls flow again.
    await limiter.report(ACCOUNT, next, { daily: 1000, dailyRemaining: 998 }, BUDGET);
    expect((await limiter.state(ACCOUNT)).paused).toBe(false);
    clock.now += 200;
    expect((await limiter.acquire(ACCOUNT, BUDGET)).granted).toBe(true);
    clock.now += 200;
    expect((await limiter.acquire(ACCOUNT, BUDGET)).granted).toBe(true);
  });

  it('a tiny Daily-Remaining read just after the reset does not stop the account for a day once it is spent: it probes', async () => {
    const { clock, limiter } = virtualLimiter(Date.UTC(2026, 2, 2, 0, 0, 0, 300));
    const first = await limiter.acquire(ACCOUNT, BUDGET);
    if (!first.granted) throw new Error('no first grant');
    await limiter.report(ACCOUNT, first, { daily: 1000, dailyRemaining: 2 }, BUDGET);
    for (let i = 0; i < 2; i++) {
      clock.now += 200;
      expect((await limiter.acquire(ACCOUNT, BUDGET)).granted).toBe(true);
    }
    clock.now += 200;
    const probe = await limiter.acquire(ACCOUNT, BUDGET);
    // Not a stop until tomorrow's reset: a probe.
    expect(probe.granted).toBe(true);
    expect((await limiter.state(ACCOUNT)).pausedUntil ?? 0).toBeLessThan(Date.UTC(2026, 2, 2, 1));
    clock.now += 200;
    expect(await limiter.acquire(ACCOUNT, BUDGET)).toMatchObject({ granted: false, reason: 'daily' });
  });

  it('past the grace, a Daily-Remaining leaving nothing stops the account until the reset', async () => {
    const { clock, limiter } = virtualLimiter(Date.UTC(2026, 2, 2, 0, 0, 0) + DAILY_RESET_GRACE_MS + 1000);
    const first = await limiter.acquire(ACCOUNT, BUDGET);
    if (!first.granted) throw new Error('no first grant');
    await limiter.report(ACCOUNT, first, { daily: 1000, dailyRemaining: 0 }, BUDGET);
    clock.now += 200;
    const stopped = await limiter.acquire(ACCOUNT, BUDGET);
    expect(stopped).toMatchObject({ granted: false, reason: 'daily' });
    expect((await limiter.state(ACCOUNT)).pausedUntil).toBe(Date.UTC(2026, 2, 3));
  });
});
