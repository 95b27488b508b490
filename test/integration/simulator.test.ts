import { describe, expect, it } from 'vitest';
import { contacts, openSimulator, TOKEN, update } from '../helpers/simulator-client.js';

describe('simulator batch update: applying', () => {
  it('applies every input and answers 200 COMPLETE with HubSpot-shaped results', async () => {
    const sim = await openSimulator();
    contacts(sim, 2);
    const before = sim.getObject(TOKEN, 'contacts', '1');
    const { status, body } = await update(sim, [
      { id: '1', properties: { firstname: 'Ada', age: '36' }, objectWriteTraceId: 't1' },
      { id: '2', properties: { lastname: 'Hopper' }, objectWriteTraceId: 't2' },
    ]);
    expect(status).toBe(200);
    expect(body.status).toBe('COMPLETE');
    expect(body).toHaveProperty('requestedAt');
    expect(body).toHaveProperty('startedAt');
    expect(body).toHaveProperty('completedAt');
    expect(body).not.toHaveProperty('errors');
    const one = body.results.find((r) => r.id === '1');
    expect(one?.properties).toMatchObject({ firstname: 'Ada', age: '36', hs_object_id: '1' });
    expect(one?.properties.lastmodifieddate).toBe(one?.updatedAt);
    expect(one?.archived).toBe(false);
    // Observed HubSpot behaviour: results do not echo the trace id.
    expect(one).not.toHaveProperty('objectWriteTraceId');

    const after = sim.getObject(TOKEN, 'contacts', '1');
    expect(after?.properties).toEqual({ email: 'c1@example.com', firstname: 'Ada', age: '36' });
    expect(after?.version).toBe(1);
    expect(Date.parse(after?.updatedAt ?? '')).toBeGreaterThan(Date.parse(before?.updatedAt ?? ''));
  });

  it('serves the v3 path and object type ids like 0-1', async () => {
    const sim = await openSimulator();
    contacts(sim, 1);
    const v3 = await update(sim, [{ id: '1', properties: { city: 'Oslo' } }], { version: 'v3' });
    expect(v3.status).toBe(200);
    const byTypeId = await update(sim, [{ id: '1', properties: { city: 'Rome' } }], { objectType: '0-1' });
    expect(byTypeId.status).toBe(200);
    expect(sim.getObject(TOKEN, 'contacts', '1')?.properties.city).toBe('Rome');
  });

  it('returns results unordered by default and in input order when shuffling is off', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => String(i + 1));
    const inputs = ids.map((id) => ({ id, properties: { firstname: `n${id}` } }));

    const shuffled = await openSimulator({ seed: 7 });
    contacts(shuffled, 40);
    const a = await update(shuffled, inputs);
    expect(a.body.results.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(a.body.results.map((r) => r.id)).not.toEqual(ids);

    const ordered = await openSimulator({ shuffleResults: false });
    contacts(ordered, 40);
    const b = await update(ordered, inputs);
    expect(b.body.results.map((r) => r.id)).toEqual(ids);
  });

  it('echoes trace ids in results only when asked to', async () => {
    const sim = await openSimulator({ echoTraceIds: true });
    contacts(sim, 2);
    const { body } = await update(sim, [
      { id: '1', properties: { firstname: 'A' }, objectWriteTraceId: 'trace-1' },
      { id: '2', properties: { firstname: 'B' } },
    ]);
    expect(body.results.find((r) => r.id === '1')?.objectWriteTraceId).toBe('trace-1');
    expect(body.results.find((r) => r.id === '2')).not.toHaveProperty('objectWriteTraceId');
  });

  it('resolves idProperty inputs by unique value and answers with the internal id', async () => {
    const sim = await openSimulator();
    sim.createObjects(TOKEN, 'contacts', [
      { id: '11', properties: { email: 'ada@example.com' } },
      { id: '12', properties: { email: 'bob@example.com', external_id: 'ext-12' } },
    ]);
    const { status, body } = await update(sim, [
      { id: 'ada@example.com', idProperty: 'email', properties: { firstname: 'Ada' } },
      { id: 'ext-12', idProperty: 'external_id', properties: { email: 'robert@example.com' } },
    ]);
    expect(status).toBe(200);
    expect(body.results.map((r) => r.id).sort()).toEqual(['11', '12']);
    expect(sim.getObject(TOKEN, 'contacts', '11')?.properties.firstname).toBe('Ada');
    expect(sim.findByProperty(TOKEN, 'contacts', 'email', 'robert@example.com')?.id).toBe('12');
    expect(sim.findByProperty(TOKEN, 'contacts', 'email', 'bob@example.com')).toBeUndefined();
  });

  it('answers 207 OBJECT_NOT_FOUND for missing objects, grouping their ids and trace ids', async () => {
    const sim = await openSimulator();
    contacts(sim, 1);
    const { status, body } = await update(sim, [
      { id: '1', properties: { firstname: 'A' }, objectWriteTraceId: 'ok-1' },
      { id: '404', properties: { firstname: 'B' }, objectWriteTraceId: 'gone-1' },
      {
        id: 'nobody@example.com',
        idProperty: 'email',
        properties: { firstname: 'C' },
        objectWriteTraceId: 'gone-2',
      },
      // An email used as id without idProperty names no record.
      { id: 'c1@example.com', properties: { firstname: 'D' } },
    ]);
    expect(status).toBe(207);
    expect(body.status).toBe('COMPLETE');
    expect(body.numErrors).toBe(1);
    expect(body.errors).toEqual([
      {
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        message:
          'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
        context: {
          ids: ['404', 'nobody@example.com', 'c1@example.com'],
          objectWriteTraceId: ['gone-1', 'gone-2'],
        },
      },
    ]);
    expect(body.results.map((r) => r.id)).toEqual(['1']);
    expect(sim.getObject(TOKEN, 'contacts', '1')?.properties.firstname).toBe('A');
  });

  it('leaves trace ids out of 207 errors when traceIdsInErrors is off, and names the object type', async () => {
    const sim = await openSimulator({ traceIdsInErrors: false });
    const { body } = await update(
      sim,
      [{ id: '9', properties: { dealname: 'x' }, objectWriteTraceId: 't' }],
      {
        objectType: 'deals',
      },
    );
    expect(body.errors[0]?.context).toEqual({ ids: ['9'] });
    expect(body.errors[0]?.message).toContain('DEAL objects');
  });

  it('creates missing objects instead with autoCreate', async () => {
    const sim = await openSimulator({ autoCreate: true });
    const { status } = await update(sim, [
      { id: '77', properties: { firstname: 'Auto' } },
      { id: 'new@example.com', idProperty: 'email', properties: { firstname: 'ByEmail' } },
    ]);
    expect(status).toBe(200);
    expect(sim.getObject(TOKEN, 'contacts', '77')?.properties.firstname).toBe('Auto');
    expect(sim.findByProperty(TOKEN, 'contacts', 'email', 'new@example.com')?.properties.firstname).toBe(
      'ByEmail',
    );
  });

  it('treats an empty string as a valid value that clears the property', async () => {
    const sim = await openSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1', properties: { age: '30', lifecyclestage: 'lead' } }]);
    const { status } = await update(sim, [{ id: '1', properties: { age: '', lifecyclestage: '' } }]);
    expect(status).toBe(200);
    expect(sim.getObject(TOKEN, 'contacts', '1')?.properties).toEqual({ age: '', lifecyclestage: '' });
  });

  it('answers 404 for an unknown object type', async () => {
    const sim = await openSimulator();
    const { status, body } = await update(sim, [{ id: '1', properties: {} }], { objectType: 'widgets' });
    expect(status).toBe(404);
    expect(body).toMatchObject({ status: 'error', message: 'Unable to infer object type from: widgets' });
  });

  it('serves custom object types from the objectTypes option', async () => {
    const sim = await openSimulator({
      objectTypes: {
        pets: {
          objectTypeId: '2-12345',
          singularName: 'PET',
          properties: [
            { name: 'pet_name', type: 'string' },
            { name: 'tag', type: 'string', hasUniqueValue: true },
          ],
        },
      },
    });
    sim.createObjects(TOKEN, 'pets', [{ id: '5', properties: { tag: 'T-5' } }]);
    const { status } = await update(
      sim,
      [{ id: 'T-5', idProperty: 'tag', properties: { pet_name: 'Rex' } }],
      {
        objectType: '2-12345',
      },
    );
    expect(status).toBe(200);
    expect(sim.getObject(TOKEN, 'pets', '5')?.properties.pet_name).toBe('Rex');
  });
});
