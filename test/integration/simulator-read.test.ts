import { describe, expect, it } from 'vitest';
import { contacts, openSimulator, read, TOKEN, update } from '../helpers/simulator-client.js';

describe('simulator batch read', () => {
  it('finds records by email, in any case, with the properties asked for plus hs_object_id', async () => {
    const sim = await openSimulator({ shuffleResults: false });
    contacts(sim, 3);
    await update(sim, [{ id: '2', properties: { firstname: 'Bea' } }]);
    const { status, body } = await read(sim, {
      idProperty: 'email',
      properties: ['email', 'firstname', 'nosuchproperty'],
      ids: ['c1@example.com', 'C2@Example.COM'],
    });
    expect(status).toBe(200);
    expect(body.status).toBe('COMPLETE');
    expect(body.results).toEqual([
      expect.objectContaining({
        id: '1',
        properties: { email: 'c1@example.com', firstname: null, hs_object_id: '1' },
        archived: false,
      }),
      expect.objectContaining({
        id: '2',
        properties: { email: 'c2@example.com', firstname: 'Bea', hs_object_id: '2' },
      }),
    ]);
    for (const key of ['startedAt', 'completedAt'] as const)
      expect(typeof body[key as keyof typeof body]).toBe('string');
    // Writes by email match without case too.
    expect(
      (await update(sim, [{ id: 'C3@EXAMPLE.com', idProperty: 'email', properties: { city: 'x' } }])).status,
    ).toBe(200);
    expect(sim.getObject(TOKEN, 'contacts', '3')?.properties.city).toBe('x');
  });

  it('answers 207 naming the inputs that name no record, as sent', async () => {
    const sim = await openSimulator();
    contacts(sim, 2);
    const { status, body } = await read(sim, {
      idProperty: 'email',
      properties: ['email'],
      ids: ['c1@example.com', 'Nobody@example.com', 'c2@example.com', 'gone@example.com'],
    });
    expect(status).toBe(207);
    expect(body.numErrors).toBe(1);
    expect(body.errors).toEqual([
      expect.objectContaining({
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        context: { ids: ['Nobody@example.com', 'gone@example.com'] },
      }),
    ]);
    expect(body.results.map((r) => r.id).sort()).toEqual(['1', '2']);
  });

  it('reads by record id without idProperty, and by a custom unique property', async () => {
    const sim = await openSimulator();
    sim.createObjects(TOKEN, 'companies', [{ id: '7', properties: { domain: 'a.io', external_id: 'X-1' } }]);
    const byId = await read(sim, { properties: ['domain'], ids: ['7', '8'] }, { objectType: 'companies' });
    expect(byId.status).toBe(207);
    expect(byId.body.results).toEqual([
      expect.objectContaining({ id: '7', properties: { domain: 'a.io', hs_object_id: '7' } }),
    ]);
    expect(byId.body.errors[0]?.context.ids).toEqual(['8']);
    // An email given as id without idProperty names no record, as on HubSpot.
    contacts(sim, 1);
    expect((await read(sim, { ids: ['c1@example.com'] })).status).toBe(207);
    const byExternal = await read(
      sim,
      { idProperty: 'external_id', properties: ['external_id'], ids: ['X-1'] },
      { objectType: '0-2' },
    );
    expect(byExternal.status).toBe(200);
    expect(byExternal.body.results[0]?.id).toBe('7');
  });

  it('refuses more than 100 inputs and a non-unique idProperty with 400 VALIDATION_ERROR', async () => {
    const sim = await openSimulator();
    const oversize = await read(sim, {
      idProperty: 'email',
      ids: Array.from({ length: 101 }, (_, i) => `c${i}@x.io`),
    });
    expect(oversize.status).toBe(400);
    expect(oversize.body).toMatchObject({
      category: 'VALIDATION_ERROR',
      message:
        'The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again',
    });
    const nonUnique = await read(sim, { idProperty: 'firstname', ids: ['Ada'] });
    expect(nonUnique.status).toBe(400);
    expect(nonUnique.body.message).toMatch(/non-unique 0-1 property firstname/);
    expect((await read(sim, '{"inputs": [')).status).toBe(400);
    expect((await read(sim, { ids: ['1'] }, { objectType: 'widgets' })).status).toBe(404);
    expect(sim.stats().oversizeBatches).toBe(1);
  });

  it('spends the rate budget like an update (429 and headers) and is logged as a read', async () => {
    const sim = await openSimulator({
      portals: { [TOKEN]: { portalId: 'p', maxRequests: 2, windowMs: 60_000 } },
    });
    sim.createObjects('p', 'contacts', [{ id: '1', properties: { email: 'c1@example.com' } }]);
    const first = await read(sim, { idProperty: 'email', ids: ['c1@example.com'] });
    expect(first.headers.get('x-hubspot-ratelimit-remaining')).toBe('1');
    expect((await update(sim, [{ id: '1', properties: { city: 'a' } }])).status).toBe(200);
    const refused = await read(sim, { idProperty: 'email', ids: ['c1@example.com'] });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ policyName: 'TEN_SECONDLY_ROLLING' });
    const calls = sim.calls();
    expect(calls.map((c) => [c.endpoint, c.status])).toEqual([
      ['batchRead', 200],
      ['batchUpdate', 200],
      ['batchRead', 429],
    ]);
    expect(calls[0]).toMatchObject({ inputCount: 1, ids: ['c1@example.com'], idProperties: ['email'] });
    expect(sim.stats()).toMatchObject({
      calls: 3,
      byEndpoint: { batchRead: 2, batchUpdate: 1 },
      readInputsTotal: 2,
      inputsTotal: 1,
      recordsRead: 1,
      maxCallsInAnyWindow: { p: 3 },
    });
  });

  it('suffers faults scripted for reads, and leaves update faults to updates', async () => {
    const sim = await openSimulator();
    contacts(sim, 1);
    sim.failNext(1, 'error5xx', { status: 503 });
    sim.failNext(1, 'locked423', { call: 'read' });
    expect((await read(sim, { idProperty: 'email', ids: ['c1@example.com'] })).status).toBe(423);
    expect((await read(sim, { idProperty: 'email', ids: ['c1@example.com'] })).status).toBe(200);
    const res = await fetch(`${sim.url}/crm/objects/2026-03/contacts/batch/update`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ id: '1', properties: { city: 'a' } }] }),
    });
    expect(res.status).toBe(503);
  });
});

describe('simulator API versions', () => {
  it('serves batch/update, batch/read and properties under any YYYY-MM date version and v3', async () => {
    const sim = await openSimulator();
    contacts(sim, 1);
    for (const version of ['2026-03', '2026-09', '2025-09', '2031-12', 'v3']) {
      expect((await update(sim, [{ id: '1', properties: { city: version } }], { version })).status).toBe(200);
      expect(
        (await read(sim, { ids: ['1'], properties: ['city'] }, { version })).body.results[0]?.properties.city,
      ).toBe(version);
      const prefix = version === 'v3' ? '/crm/v3/properties' : `/crm/properties/${version}`;
      expect(
        (await fetch(`${sim.url}${prefix}/contacts`, { headers: { authorization: `Bearer ${TOKEN}` } }))
          .status,
      ).toBe(200);
    }
  });

  it('answers 404 to malformed versions, as HubSpot does', async () => {
    const sim = await openSimulator();
    contacts(sim, 1);
    for (const version of ['2026-13', '2026-00', '2026-3', '26-03', 'v4', '2026-03-01', 'latest']) {
      const updated = await update(sim, [{ id: '1', properties: { city: 'x' } }], { version });
      expect(updated.status, version).toBe(404);
      expect((await read(sim, { ids: ['1'] }, { version })).status, version).toBe(404);
    }
    expect(sim.getObject(TOKEN, 'contacts', '1')?.properties.city).toBeUndefined();
    expect(sim.calls().every((c) => c.endpoint === null)).toBe(true);
  });
});
