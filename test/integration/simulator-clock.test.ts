import { describe, expect, it } from 'vitest';
import { nextDailyReset } from '../../src/simulator/clock.js';
import type { Simulator } from '../../src/simulator/index.js';
import { openSimulator } from '../helpers/simulator-client.js';

const DAY = 86_400_000;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(sim: Simulator, token: string, inputs: unknown[] = []): Promise<Answer> {
  const res = await fetch(`${sim.url}/crm/objects/2026-03/contacts/batch/update`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function control(
  sim: Simulator,
  method: 'GET' | 'POST',
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sim.url}/_sim/clock`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const daily = (a: Answer): string | null => a.headers.get('x-hubspot-ratelimit-daily-remaining');

/** A portal in UTC-05:00 with a daily limit of 2: its day ends at 05:00 UTC. */
const EASTERN = {
  portalId: '700',
  maxRequests: 100,
  windowMs: 10_000,
  dailyLimit: 2,
  dailyResetUtcOffsetMinutes: -300,
};

describe('simulator clock and daily reset', () => {
  it('puts the simulator before its daily reset through /_sim/clock: DAILY 429 before, a fresh day after', async () => {
    const sim = await openSimulator({ portals: { tok: EASTERN } });
    const reset = nextDailyReset(Date.now() + 60_000, -300);
    const before = await control(sim, 'POST', { nowMs: reset - 10_000 });
    expect(before.status).toBe(200);
    expect(Number(before.body.nowMs)).toBeLessThan(reset);
    expect(Number(before.body.offsetMs)).toBe(sim.clock().offsetMs);

    expect(daily(await call(sim, 'tok'))).toBe('1');
    expect(daily(await call(sim, 'tok'))).toBe('0');
    const refused = await call(sim, 'tok');
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      status: 'error',
      message: 'You have reached your daily limit.',
      errorType: 'RATE_LIMIT',
      correlationId: refused.headers.get('x-hubspot-correlation-id'),
      policyName: 'DAILY',
      groupName: 'publicapi:private-app:700',
    });
    expect(refused.headers.get('x-hubspot-ratelimit-daily')).toBe('2');
    expect(daily(refused)).toBe('0');
    // Not asked for: HubSpot's DAILY 429s carry no Retry-After as observed.
    expect(refused.headers.get('retry-after')).toBeNull();

    const after = await control(sim, 'POST', { nowMs: reset + 10_000 });
    expect(Number(after.body.nowMs)).toBeGreaterThanOrEqual(reset);
    const fresh = await call(sim, 'tok');
    expect(fresh.status).toBe(200);
    expect(daily(fresh)).toBe('1');
    expect(sim.stats().rateLimited).toEqual({ DAILY: 1 });
  });

  it('midnight UTC is no reset for an account in another time zone', async () => {
    const sim = await openSimulator({ portals: { tok: EASTERN } });
    const midnightUtc = nextDailyReset(Date.now(), 0);
    expect((await control(sim, 'POST', { nowMs: midnightUtc - 10_000 })).status).toBe(200);
    await call(sim, 'tok');
    await call(sim, 'tok');
    const after = await control(sim, 'POST', { nowMs: midnightUtc + 10_000 });
    expect(Number(after.body.nowMs)).toBeGreaterThanOrEqual(midnightUtc);
    const refused = await call(sim, 'tok');
    expect(refused.status).toBe(429);
    expect(refused.body.policyName).toBe('DAILY');
  });

  it('sends Retry-After up to the reset on a DAILY 429 when retryAfterOn429 is set', async () => {
    const sim = await openSimulator({ retryAfterOn429: true, portals: { tok: EASTERN } });
    const reset = nextDailyReset(Date.now() + 60_000, -300);
    await control(sim, 'POST', { nowMs: reset - 10_000 });
    await call(sim, 'tok');
    await call(sim, 'tok');
    const refused = await call(sim, 'tok');
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
  });

  it('writes times of its own clock into bodies, stored objects and the call log', async () => {
    const offsetMs = 3 * DAY;
    const sim = await openSimulator({ clockOffsetMs: offsetMs });
    sim.createObjects('tok', 'contacts', [{ id: '1', properties: { email: 'a@example.com' } }]);
    const hostBefore = Date.now();
    const answer = await call(sim, 'tok', [{ id: '1', properties: { firstname: 'Ada' } }]);
    const hostAfter = Date.now();
    expect(answer.status).toBe(200);
    const results = answer.body.results as Array<{ updatedAt: string; properties: Record<string, string> }>;
    const times = [
      answer.body.requestedAt,
      answer.body.startedAt,
      answer.body.completedAt,
      results[0]?.updatedAt,
      results[0]?.properties.lastmodifieddate,
      sim.getObject('tok', 'contacts', '1')?.updatedAt,
    ].map((t) => Date.parse(String(t)));
    times.push(sim.calls()[0]?.at ?? Number.NaN);
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(hostBefore + offsetMs);
      expect(t).toBeLessThanOrEqual(hostAfter + offsetMs);
    }
  });

  it('keeps the rolling window on a monotonic clock: moving the clock a day on does not empty it', async () => {
    const sim = await openSimulator({
      portals: { tok: { portalId: 'w', maxRequests: 2, windowMs: 600_000, dailyLimit: 100 } },
    });
    await call(sim, 'tok');
    await call(sim, 'tok');
    expect((await control(sim, 'POST', { offsetMs: DAY })).body.offsetMs).toBe(DAY);
    const refused = await call(sim, 'tok');
    expect(refused.status).toBe(429);
    expect(refused.body.policyName).toBe('TEN_SECONDLY_ROLLING');
    // The day did roll: this refused call is the first of the new day.
    expect(daily(refused)).toBe('99');
  });

  it('answers a SECONDLY 429 with its policy, message and Secondly headers', async () => {
    // A 10 s secondly window of 2 calls, so no test timing can let the third call through.
    const sim = await openSimulator({
      retryAfterOn429: true,
      portals: { tok: { portalId: '42', maxRequests: 20, windowMs: 100_000, policyName: 'SECONDLY' } },
    });
    await call(sim, 'tok');
    await call(sim, 'tok');
    const refused = await call(sim, 'tok');
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      status: 'error',
      message: 'You have reached your secondly limit.',
      errorType: 'RATE_LIMIT',
      correlationId: refused.headers.get('x-hubspot-correlation-id'),
      policyName: 'SECONDLY',
      groupName: 'publicapi:private-app:42',
    });
    expect(refused.headers.get('x-hubspot-ratelimit-secondly')).toBe('2');
    expect(refused.headers.get('x-hubspot-ratelimit-secondly-remaining')).toBe('0');
    expect(refused.headers.get('x-hubspot-ratelimit-max')).toBe('20');
    expect(refused.headers.get('x-hubspot-ratelimit-remaining')).toBe('17');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
  });

  it('GET /_sim/clock reports the offset; bad bodies are refused; reset restores the configured offset', async () => {
    const sim = await openSimulator({ clockOffsetMs: -5000 });
    const hostBefore = Date.now();
    const got = await control(sim, 'GET');
    expect(got.body.offsetMs).toBe(-5000);
    expect(Number(got.body.nowMs)).toBeGreaterThanOrEqual(hostBefore - 5000);
    expect(Number(got.body.nowMs)).toBeLessThanOrEqual(Date.now() - 5000);
    for (const bad of [{}, { offsetMs: 1.5 }, { offsetMs: '10' }, { offsetMs: 1, nowMs: 2 }, { at: 1 }]) {
      const refused = await control(sim, 'POST', bad);
      expect(refused.status).toBe(400);
    }
    expect(sim.clock().offsetMs).toBe(-5000);
    sim.setClockOffset(DAY);
    expect(sim.clock().offsetMs).toBe(DAY);
    expect(() => sim.setClockOffset(0.5)).toThrow(RangeError);
    await fetch(`${sim.url}/_sim/reset`, { method: 'POST' });
    expect(sim.clock().offsetMs).toBe(-5000);
  });

  it("delays a configured portal's calls by its own latency", async () => {
    const sim = await openSimulator({
      latencyMs: 0,
      portals: {
        slow: { portalId: 's', maxRequests: 10, windowMs: 10_000, latencyMs: { kind: 'fixed', ms: 300 } },
      },
    });
    await call(sim, 'slow');
    await call(sim, 'other');
    const [slow, other] = sim.calls();
    expect(slow?.portal).toBe('s');
    // A lower bound only: the delay is the portal's, not the simulator-wide zero.
    expect(slow?.latencyMs).toBeGreaterThanOrEqual(290);
    expect(other?.portal).toBe('other');
  });
});
