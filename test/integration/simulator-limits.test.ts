import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { openSimulator, waitUntil } from '../helpers/simulator-client.js';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(
  sim: Simulator,
  token: string | undefined,
  path = '/crm/objects/2026-03/contacts/batch/update',
) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const isGet = path.startsWith('/crm/properties') || path.startsWith('/crm/v3/properties');
  const res = await fetch(`${sim.url}${path}`, {
    method: isGet ? 'GET' : 'POST',
    headers,
    ...(isGet ? {} : { body: JSON.stringify({ inputs: [] }) }),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    headers: res.headers,
  } as Answer;
}

const rate = (a: Answer, name: string): string | null => a.headers.get(`x-hubspot-ratelimit-${name}`);

describe('simulator auth', () => {
  it('answers 401 INVALID_AUTHENTICATION without a token, or for unknown tokens when not accepting any', async () => {
    const sim = await openSimulator({
      acceptAnyToken: false,
      portals: { known: { portalId: 'p1', maxRequests: 10, windowMs: 10_000 } },
    });
    const missing = await call(sim, undefined);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
    expect(String(missing.body.message)).toMatch(/^Authentication credentials not found/);
    expect(missing.headers.get('x-hubspot-correlation-id')).toBe(missing.body.correlationId);
    expect((await call(sim, 'stranger')).status).toBe(401);
    expect((await call(sim, 'known')).status).toBe(200);
  });

  it('fails revoked tokens as invalid or expired until restored, without spending the budget', async () => {
    const sim = await openSimulator();
    expect((await call(sim, 'tok')).status).toBe(200);
    sim.revokeToken('tok');
    const invalid = await call(sim, 'tok');
    expect(invalid.status).toBe(401);
    expect(invalid.body.category).toBe('INVALID_AUTHENTICATION');
    sim.revokeToken('tok', 'EXPIRED_AUTHENTICATION');
    const expired = await call(sim, 'tok');
    expect(expired.body).toMatchObject({
      status: 'error',
      category: 'EXPIRED_AUTHENTICATION',
      message: 'The OAuth token used to make this call expired 75 second(s) ago.',
    });
    expect(expired.body.context).toHaveProperty('expire time');
    expect(rate(expired, 'remaining')).toBe('99');
    sim.restoreToken('tok');
    const back = await call(sim, 'tok');
    expect(back.status).toBe(200);
    expect(rate(back, 'remaining')).toBe('98');
  });

  it('answers 403 MISSING_SCOPES listing the scopes until lifted', async () => {
    const sim = await openSimulator();
    sim.setMissingScopes('tok', ['crm.objects.contacts.write']);
    const denied = await call(sim, 'tok');
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({
      category: 'MISSING_SCOPES',
      context: { requiredScopes: ['crm.objects.contacts.write'] },
    });
    sim.setMissingScopes('tok', null);
    expect((await call(sim, 'tok')).status).toBe(200);
  });
});

describe('simulator rate limit', () => {
  it('sends the rate-limit headers, counted after this call, on every answer', async () => {
    const sim = await openSimulator({
      portals: { tok: { portalId: '555', maxRequests: 5, windowMs: 10_000 } },
    });
    const first = await call(sim, 'tok');
    expect(rate(first, 'max')).toBe('5');
    expect(rate(first, 'remaining')).toBe('4');
    expect(rate(first, 'interval-milliseconds')).toBe('10000');
    expect(rate(first, 'daily')).toBe('250000');
    expect(rate(first, 'daily-remaining')).toBe('249999');
    expect(rate(first, 'secondly')).toBeNull();
    const notFound = await call(sim, 'tok', '/crm/objects/2026-03/widgets/batch/update');
    expect(notFound.status).toBe(404);
    expect(rate(notFound, 'remaining')).toBe('3');
  });

  it('answers 429 with HubSpot body once the window holds maxRequests arrivals, 429s included', async () => {
    const sim = await openSimulator({
      portals: { tok: { portalId: '555', maxRequests: 2, windowMs: 10_000 } },
    });
    await call(sim, 'tok');
    await call(sim, 'tok');
    const limited = await call(sim, 'tok');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      correlationId: limited.headers.get('x-hubspot-correlation-id'),
      policyName: 'TEN_SECONDLY_ROLLING',
      groupName: 'publicapi:private-app:555',
    });
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(rate(limited, 'remaining')).toBe('0');
    expect(rate(limited, 'daily-remaining')).toBe('249997');
    await call(sim, 'tok');
    const stats = sim.stats();
    expect(stats.rateLimited).toEqual({ TEN_SECONDLY_ROLLING: 2 });
    expect(stats.maxCallsInAnyWindow).toEqual({ '555': 4 });
    expect(sim.calls().map((c) => c.policyName)).toEqual([
      undefined,
      undefined,
      'TEN_SECONDLY_ROLLING',
      'TEN_SECONDLY_ROLLING',
    ]);
  });

  it('admits calls again once the short window has rolled past every arrival', async () => {
    const windowMs = 300;
    const sim = await openSimulator({ defaultRateLimit: { maxRequests: 1, windowMs } });
    expect((await call(sim, 'tok')).status).toBe(200);
    expect((await call(sim, 'tok')).status).toBe(429);
    await new Promise((r) => setTimeout(r, windowMs + 50));
    expect((await call(sim, 'tok')).status).toBe(200);
  });

  it('sends Retry-After on 429s when asked to', async () => {
    const sim = await openSimulator({
      retryAfterOn429: true,
      defaultRateLimit: { maxRequests: 1, windowMs: 10_000 },
    });
    await call(sim, 'tok');
    const limited = await call(sim, 'tok');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(10);
  });

  it('answers 429 DAILY once the daily limit is spent', async () => {
    const sim = await openSimulator({
      portals: { tok: { portalId: '9', maxRequests: 100, windowMs: 10_000, dailyLimit: 2 } },
    });
    await call(sim, 'tok');
    await call(sim, 'tok');
    const limited = await call(sim, 'tok');
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({
      policyName: 'DAILY',
      message: 'You have reached your daily limit.',
    });
    expect(rate(limited, 'daily-remaining')).toBe('0');
    expect(sim.stats().rateLimited).toEqual({ DAILY: 1 });
  });

  it('omits Daily headers without a daily limit and adds Secondly ones for the SECONDLY policy', async () => {
    const sim = await openSimulator({
      portals: {
        oauth: { portalId: 'a', maxRequests: 110, windowMs: 10_000, dailyLimit: null },
        old: { portalId: 'b', maxRequests: 100, windowMs: 10_000, policyName: 'SECONDLY' },
      },
    });
    const oauth = await call(sim, 'oauth');
    expect(rate(oauth, 'daily')).toBeNull();
    expect(rate(oauth, 'daily-remaining')).toBeNull();
    const old = await call(sim, 'old');
    expect(rate(old, 'secondly')).toBe('10');
    expect(rate(old, 'secondly-remaining')).toBe('9');
  });

  it('shares one budget between tokens of the same portal', async () => {
    const sim = await openSimulator({
      portals: {
        a: { portalId: 'shared', maxRequests: 3, windowMs: 10_000 },
        b: { portalId: 'shared', maxRequests: 3, windowMs: 10_000 },
      },
    });
    await call(sim, 'a');
    expect(rate(await call(sim, 'b'), 'remaining')).toBe('1');
  });

  it('counts the properties endpoint against the same budget', async () => {
    const sim = await openSimulator();
    await call(sim, 'tok', '/crm/properties/2026-03/contacts');
    const next = await call(sim, 'tok', '/crm/v3/properties/contacts');
    expect(next.status).toBe(200);
    expect(rate(next, 'remaining')).toBe('98');
  });

  it('lets an outside client spend the portal budget until it stops', async () => {
    const sim = await openSimulator({
      portals: { tok: { portalId: 'acct', maxRequests: 20, windowMs: 10_000 } },
    });
    const stop = sim.startOutsideClient({ token: 'tok', callsPerSecond: 1000 });
    await waitUntil(() => (sim.stats().outsideCalls.acct ?? 0) >= 20, 'outside calls');
    const limited = await call(sim, 'tok');
    expect(limited.status).toBe(429);
    stop();
    const made = sim.stats().outsideCalls.acct;
    await call(sim, 'tok');
    expect(sim.stats().outsideCalls.acct).toBe(made);
    expect(sim.stats().maxCallsInAnyWindow.acct).toBeGreaterThanOrEqual(22);
    // Outside calls spend the budget but are not our calls.
    expect(sim.calls()).toHaveLength(2);
  });
});
