import { describe, expect, it } from 'vitest';
import { runSimulator } from '../../src/cli/simulator.js';
import type { CallRecord, SimObject, SimStats, Simulator } from '../../src/simulator/index.js';
import { track } from '../helpers/resources.js';
import { openSimulator } from '../helpers/simulator-client.js';

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

async function postJson<T>(url: string, body: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as T };
}

function update(sim: Simulator, token: string, inputs: unknown[]): Promise<Response> {
  return fetch(`${sim.url}/crm/objects/2026-03/contacts/batch/update`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs }),
  });
}

interface PropertyDef {
  name: string;
  type: string;
  fieldType: string;
  hasUniqueValue: boolean;
  options: Array<{ label: string; value: string }>;
  modificationMetadata: { readOnlyValue: boolean };
}

describe('simulator properties endpoint', () => {
  it('lists HubSpot-shaped property definitions on both paths', async () => {
    const sim = await openSimulator();
    for (const path of ['/crm/properties/2026-03/contacts', '/crm/v3/properties/0-1']) {
      const res = await fetch(`${sim.url}${path}`, { headers: { authorization: 'Bearer tok' } });
      expect(res.status).toBe(200);
      const { results } = (await res.json()) as { results: PropertyDef[] };
      const byName = new Map(results.map((p) => [p.name, p]));
      expect(byName.get('email')).toMatchObject({ type: 'string', hasUniqueValue: true });
      expect(byName.get('external_id')?.hasUniqueValue).toBe(true);
      expect(byName.get('age')).toMatchObject({ type: 'number', fieldType: 'number' });
      expect(byName.get('hs_marketable_status')).toMatchObject({
        type: 'bool',
        fieldType: 'booleancheckbox',
      });
      expect(byName.get('lifecyclestage')?.options.map((o) => o.value)).toContain('marketingqualifiedlead');
      expect(byName.get('firstname')?.modificationMetadata.readOnlyValue).toBe(false);
      expect(byName.get('hs_object_id')?.modificationMetadata.readOnlyValue).toBe(true);
    }
  });

  it('answers 401 without a token and 404 for unknown object types', async () => {
    const sim = await openSimulator();
    expect((await fetch(`${sim.url}/crm/properties/2026-03/contacts`)).status).toBe(401);
    const res = await fetch(`${sim.url}/crm/properties/2026-03/widgets`, {
      headers: { authorization: 'Bearer t' },
    });
    expect(res.status).toBe(404);
  });
});

describe('simulator inspection and control', () => {
  it('creates portals lazily per token, seeded with seedObjects', async () => {
    const sim = await openSimulator({ seedObjects: { contacts: 3, companies: 2 } });
    expect(sim.listObjects('anyone', 'contacts').map((o) => o.id)).toEqual(['1001', '1002', '1003']);
    expect(sim.getObject('anyone', '0-1', '1002')?.properties).toEqual({ email: 'contact2@example.com' });
    expect(sim.findByProperty('anyone', 'companies', 'domain', 'company2.example.com')?.id).toBe('1002');
    expect(sim.createObjects('anyone', 'contacts', [{ properties: { firstname: 'New' } }])[0]?.id).toBe(
      '1004',
    );
    expect(() =>
      sim.createObjects('anyone', 'contacts', [{ properties: { email: 'contact1@example.com' } }]),
    ).toThrow(/already used/);
    expect(() => sim.createObjects('anyone', 'contacts', [{ properties: { nope: 'x' } }])).toThrow(
      /does not exist/,
    );
    expect((await update(sim, 'anyone', [{ id: '1001', properties: { city: 'Oslo' } }])).status).toBe(200);
    expect(sim.getObject('anyone', 'contacts', '1001')?.properties.city).toBe('Oslo');
  });

  it('serves objects, calls and stats over HTTP without logging or rate-limiting itself', async () => {
    const sim = await openSimulator({ defaultRateLimit: { maxRequests: 1, windowMs: 10_000 } });
    const created = await postJson<SimObject[]>(`${sim.url}/_sim/objects/p1/contacts`, {
      objects: [{ id: '7', properties: { email: 'seven@example.com' } }],
    });
    expect(created.status).toBe(201);
    const bad = await postJson<{ message: string }>(`${sim.url}/_sim/objects/p1/contacts`, {
      objects: [{ properties: { age: 'old' } }],
    });
    expect(bad.status).toBe(400);
    await (
      await update(sim, 'p1', [
        { id: 'seven@example.com', idProperty: 'email', properties: {}, objectWriteTraceId: 'tr' },
      ])
    ).arrayBuffer();
    await (await update(sim, 'p1', [])).arrayBuffer();

    const list = await getJson<SimObject[]>(`${sim.url}/_sim/objects/p1/contacts`);
    expect(list.body.map((o) => o.id)).toEqual(['7']);
    const one = await getJson<SimObject>(`${sim.url}/_sim/objects/p1/contacts/7`);
    expect(one.body).toMatchObject({ id: '7', version: 1 });
    expect((await getJson(`${sim.url}/_sim/objects/p1/contacts/8`)).status).toBe(404);

    const calls = await getJson<CallRecord[]>(`${sim.url}/_sim/calls`);
    expect(calls.body).toHaveLength(2);
    expect(calls.body[0]).toMatchObject({
      seq: 1,
      portal: 'p1',
      method: 'POST',
      path: '/crm/objects/2026-03/contacts/batch/update',
      objectType: 'contacts',
      status: 200,
      inputCount: 1,
      ids: ['seven@example.com'],
      idProperties: ['email'],
      traceIds: ['tr'],
    });
    expect(calls.body[1]).toMatchObject({ status: 429, policyName: 'TEN_SECONDLY_ROLLING' });
    const since = await getJson<CallRecord[]>(`${sim.url}/_sim/calls?since=1`);
    expect(since.body.map((c) => c.seq)).toEqual([2]);

    const stats = await getJson<SimStats>(`${sim.url}/_sim/stats`);
    expect(stats.body).toMatchObject({
      calls: 2,
      byStatus: { '200': 1, '429': 1 },
      rateLimited: { TEN_SECONDLY_ROLLING: 1 },
      maxCallsInAnyWindow: { p1: 2 },
      inputsTotal: 1,
      inputsApplied: 1,
    });
    expect(await getJson(`${sim.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('takes faults, scripted faults and credential changes over HTTP', async () => {
    const sim = await openSimulator();
    sim.createObjects('tok', 'contacts', [{ id: '1', properties: {} }]);
    const faults = await postJson<{ canceled: number }>(`${sim.url}/_sim/faults`, { canceled: 1 });
    expect(faults.body.canceled).toBe(1);
    expect(sim.faults().canceled).toBe(1);
    expect((await postJson(`${sim.url}/_sim/faults`, { canceled: 3 })).status).toBe(400);
    expect((await postJson(`${sim.url}/_sim/faults`, { bogus: 1 })).status).toBe(400);
    await postJson(`${sim.url}/_sim/faults`, { canceled: 0 });

    await postJson(`${sim.url}/_sim/fail-next`, { count: 1, kind: 'status', status: 418, body: 'teapot' });
    const teapot = await update(sim, 'tok', [{ id: '1', properties: {} }]);
    expect(teapot.status).toBe(418);
    expect(await teapot.text()).toBe('teapot');

    await postJson(`${sim.url}/_sim/tokens/revoke`, { token: 'tok', category: 'EXPIRED_AUTHENTICATION' });
    expect((await update(sim, 'tok', [])).status).toBe(401);
    await postJson(`${sim.url}/_sim/tokens/restore`, { token: 'tok' });
    await postJson(`${sim.url}/_sim/tokens/scopes`, { token: 'tok', scopes: ['crm.objects.contacts.write'] });
    expect((await update(sim, 'tok', [])).status).toBe(403);
    await postJson(`${sim.url}/_sim/tokens/scopes`, { token: 'tok', scopes: null });
    expect((await update(sim, 'tok', [])).status).toBe(200);
    expect((await getJson(`${sim.url}/_sim/nothing`)).status).toBe(404);
  });

  it('resets objects (re-seeded), the call log, windows and faults', async () => {
    const sim = await openSimulator({
      seedObjects: { contacts: 1 },
      defaultRateLimit: { maxRequests: 1, windowMs: 60_000 },
    });
    await (await update(sim, 'tok', [{ id: '1001', properties: { firstname: 'A' } }])).arrayBuffer();
    sim.createObjects('tok', 'contacts', [{ id: '5', properties: {} }]);
    sim.failNext(1, 'canceled');
    sim.setUnreachable(true);
    expect((await postJson(`${sim.url}/_sim/reset`, {})).status).toBe(200);
    expect(sim.calls()).toEqual([]);
    expect(sim.stats().calls).toBe(0);
    expect(sim.listObjects('tok', 'contacts').map((o) => o.id)).toEqual(['1001']);
    expect(sim.getObject('tok', 'contacts', '1001')?.properties.firstname).toBeUndefined();
    const res = await update(sim, 'tok', [{ id: '1001', properties: { firstname: 'B' } }]);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('COMPLETE');
    expect(sim.calls()[0]?.seq).toBeGreaterThan(1);
  });

  it('answers 404 for routes HubSpot would not serve here', async () => {
    const sim = await openSimulator();
    const res = await fetch(`${sim.url}/crm/objects/2026-03/contacts/batch/create`, {
      method: 'POST',
      headers: { authorization: 'Bearer tok' },
      body: '{}',
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-hubspot-correlation-id')).toBeTruthy();
  });
});

describe('simulator command', () => {
  it('prints its URL, serves until stopped, then resolves 0', async () => {
    const stop = new AbortController();
    const lines: string[] = [];
    const done = track('simulator command');
    let resolveUrl: (url: string) => void = () => {};
    const listening = new Promise<string>((resolve) => {
      resolveUrl = resolve;
    });
    const exit = runSimulator(['--port', '0', '--seed-objects', 'contacts=2', '--max-requests', '5'], {
      stdout: (text) => {
        lines.push(text);
        const match = /simulator listening on (\S+)/.exec(text);
        if (match?.[1]) resolveUrl(match[1]);
      },
      signal: stop.signal,
    });
    const url = await listening;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const seeded = await getJson<SimObject>(`${url}/_sim/objects/tok/contacts/1002`);
    expect(seeded.body.properties.email).toBe('contact2@example.com');
    const res = await fetch(`${url}/crm/properties/2026-03/contacts`, {
      headers: { authorization: 'Bearer tok' },
    });
    expect(res.headers.get('x-hubspot-ratelimit-max')).toBe('5');
    await res.arrayBuffer();
    stop.abort();
    expect(await exit).toBe(0);
    done();
    expect(lines).toHaveLength(1);
  });

  it('rejects bad arguments with exit code 64 (EX_USAGE), naming the flag', async () => {
    const errors: string[] = [];
    expect(await runSimulator(['--port', 'x'], { stderr: (t) => errors.push(t) })).toBe(64);
    expect(errors.join('')).toContain('--port');
    expect(await runSimulator(['--seed-objects', 'contacts'], { stderr: (t) => errors.push(t) })).toBe(64);
    expect(await runSimulator(['--unknown'], { stderr: (t) => errors.push(t) })).toBe(64);
    expect(errors.join('')).toContain('unknown flag "--unknown"');
  });
});
