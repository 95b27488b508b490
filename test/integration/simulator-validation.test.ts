import { describe, expect, it } from 'vitest';
import { contacts, openSimulator, TOKEN, update } from '../helpers/simulator-client.js';

describe('simulator batch update: whole-batch 400s apply nothing', () => {
  it('rejects malformed JSON and bodies without inputs', async () => {
    const sim = await openSimulator();
    const bad = await update(sim, '{"inputs": [');
    expect(bad.status).toBe(400);
    expect(bad.body.category).toBe('VALIDATION_ERROR');
    expect(bad.body.message).toMatch(/^Invalid input JSON/);
    const noInputs = await update(sim, '{"things": []}');
    expect(noInputs.status).toBe(400);
    expect(noInputs.body.category).toBe('VALIDATION_ERROR');
  });

  it('rejects more than 100 inputs with HubSpot message', async () => {
    const sim = await openSimulator();
    const inputs = Array.from({ length: 101 }, (_, i) => ({
      id: String(i + 1),
      properties: { firstname: 'x' },
    }));
    const { status, body } = await update(sim, inputs);
    expect(status).toBe(400);
    expect(body).toMatchObject({
      status: 'error',
      category: 'VALIDATION_ERROR',
      message:
        'The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again',
    });
    expect(typeof body.correlationId).toBe('string');
    expect(sim.stats().oversizeBatches).toBe(1);
  });

  it('rejects duplicate (idProperty, id) pairs, listing each duplicated id once', async () => {
    const sim = await openSimulator();
    contacts(sim, 2);
    const { status, body } = await update(sim, [
      { id: '1', properties: { firstname: 'a' } },
      { id: '1', properties: { firstname: 'b' } },
      { id: '1', properties: { firstname: 'c' } },
      { id: '2', properties: { firstname: 'd' } },
      { id: '2', properties: { firstname: 'e' } },
    ]);
    expect(status).toBe(400);
    expect(body.message).toBe('Duplicate IDs found in batch input: [1, 2]. IDs must be unique');
    expect(body.context).toEqual({ ids: ['1', '2'] });
    expect(sim.getObject(TOKEN, 'contacts', '1')?.properties.firstname).toBeUndefined();
    expect(sim.stats().duplicateIdBatches).toBe(1);
  });

  it('does not count the same id under different idProperty values as duplicates', async () => {
    const sim = await openSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '1', properties: { external_id: '1' } }]);
    const { status } = await update(sim, [
      { id: '1', properties: { firstname: 'a' } },
      { id: '1', idProperty: 'external_id', properties: { lastname: 'b' } },
    ]);
    expect(status).toBe(200);
    expect(sim.getObject(TOKEN, 'contacts', '1')).toMatchObject({
      properties: { firstname: 'a', lastname: 'b' },
      version: 2,
    });
  });

  it('rejects a non-unique or unknown idProperty with the portal id in the message', async () => {
    const sim = await openSimulator();
    const { status, body } = await update(sim, [
      { id: 'Ada', idProperty: 'firstname', properties: { city: 'x' } },
    ]);
    expect(status).toBe(400);
    expect(body.message).toBe(
      `Unable to perform update/upsert by non-unique 0-1 property firstname in portal ID ${TOKEN}`,
    );
    const objectId = await update(sim, [{ id: '1', idProperty: 'hs_object_id', properties: { city: 'x' } }], {
      objectType: 'companies',
    });
    expect(objectId.body.message).toBe(
      `Unable to perform update/upsert by non-unique 0-2 property hs_object_id in portal ID ${TOKEN}`,
    );
  });

  it('names every distinct invalid (property, value) across all inputs at once', async () => {
    const sim = await openSimulator();
    contacts(sim, 4);
    const { status, body } = await update(sim, [
      { id: '1', properties: { firstname: 'fine', foo: 'x' } },
      { id: '2', properties: { age: 'abc' } },
      { id: '3', properties: { age: 'abc', lifecyclestage: 'boss', hs_marketable_status: 'yes' } },
      { id: '4', properties: { email: 'not-an-email', firstname: 'ok' } },
    ]);
    expect(status).toBe(400);
    expect(body.category).toBe('VALIDATION_ERROR');
    const expected = [
      {
        isValid: false,
        message: 'Property "foo" does not exist',
        error: 'PROPERTY_DOESNT_EXIST',
        name: 'foo',
      },
      { isValid: false, message: '"abc" is not a valid number.', error: 'INVALID_INTEGER', name: 'age' },
      {
        isValid: false,
        message:
          '"boss" is not one of the allowed options: [subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist, other]',
        error: 'INVALID_OPTION',
        name: 'lifecyclestage',
      },
      {
        isValid: false,
        message: '"yes" is not a valid boolean (true or false).',
        error: 'INVALID_BOOLEAN',
        name: 'hs_marketable_status',
      },
      {
        isValid: false,
        message: 'Email address not-an-email is invalid',
        error: 'INVALID_EMAIL',
        name: 'email',
      },
    ];
    expect(body.message).toBe(`Property values were not valid: ${JSON.stringify(expected)}`);
    expect(body.errors).toEqual(
      expected.map((e) => ({ message: e.message, code: e.error, context: { propertyName: [e.name] } })),
    );
    for (const id of ['1', '2', '3', '4']) expect(sim.getObject(TOKEN, 'contacts', id)?.version).toBe(0);
    expect(sim.stats().invalidPropertyBatches).toBe(1);
  });

  it('rejects read-only properties and unique values another object holds', async () => {
    const sim = await openSimulator();
    contacts(sim, 2);
    const { status, body } = await update(sim, [
      { id: '1', properties: { hs_object_id: '5' } },
      { id: '2', properties: { email: 'c1@example.com' } },
    ]);
    expect(status).toBe(400);
    expect(body.errors.map((e) => e.context)).toEqual([
      { propertyName: ['hs_object_id'] },
      { propertyName: ['email'] },
    ]);
    expect(body.message).toContain('READ_ONLY_VALUE');
    expect(body.message).toContain('CONFLICTING_UNIQUE_VALUE');
  });

  it('validates dates and numbers of deals', async () => {
    const sim = await openSimulator();
    sim.createObjects(TOKEN, 'deals', [{ id: '1', properties: { dealname: 'd' } }]);
    const ok = await update(
      sim,
      [{ id: '1', properties: { amount: '1200.50', closedate: '2026-03-01', dealstage: 'closedwon' } }],
      { objectType: 'deals' },
    );
    expect(ok.status).toBe(200);
    const bad = await update(sim, [{ id: '1', properties: { closedate: '2026-02-30' } }], {
      objectType: 'deals',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatchObject({
      code: 'INVALID_DATE',
      context: { propertyName: ['closedate'] },
    });
  });
});
