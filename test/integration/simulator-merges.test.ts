import { describe, expect, it } from 'vitest';
import { contacts, openSimulator, read, TOKEN, update } from '../helpers/simulator-client.js';

describe('simulator record merges and email changes', () => {
  it('after a merge the loser id is gone for updates and reads and its email names the winner', async () => {
    const sim = await openSimulator({ shuffleResults: false });
    contacts(sim, 3);
    await update(sim, [
      { id: '1', properties: { firstname: 'Loser' } },
      { id: '2', properties: { firstname: 'Winner' } },
    ]);
    const winner = sim.mergeRecords(TOKEN, 'contacts', '1', '2');
    expect(winner).toMatchObject({
      id: '2',
      properties: { email: 'c2@example.com', firstname: 'Winner' },
      aliases: { email: ['c1@example.com'] },
    });
    expect(sim.getObject(TOKEN, 'contacts', '1')).toBeUndefined();

    const byId = await update(sim, [{ id: '1', properties: { city: 'a' } }]);
    expect(byId.status).toBe(207);
    expect(byId.body.errors[0]).toMatchObject({ category: 'OBJECT_NOT_FOUND', context: { ids: ['1'] } });
    expect((await read(sim, { ids: ['1'] })).status).toBe(207);

    const found = await read(sim, {
      idProperty: 'email',
      properties: ['email', 'hs_additional_emails'],
      ids: ['C1@example.com', 'c2@example.com'],
    });
    expect(found.status).toBe(200);
    // One record however many inputs name it; its own email, the loser's among its additional ones.
    expect(found.body.results).toEqual([
      expect.objectContaining({
        id: '2',
        properties: { email: 'c2@example.com', hs_additional_emails: 'c1@example.com', hs_object_id: '2' },
      }),
    ]);
    const byEmail = await update(sim, [
      { id: 'c1@example.com', idProperty: 'email', properties: { city: 'b' } },
    ]);
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.results[0]?.id).toBe('2');
    expect(sim.getObject(TOKEN, 'contacts', '2')?.properties).toMatchObject({
      email: 'c2@example.com',
      city: 'b',
    });
    // The loser's email stays the winner's: nobody else may take it.
    const taken = await update(sim, [{ id: '3', properties: { email: 'c1@example.com' } }]);
    expect(taken.status).toBe(400);
  });

  it('carries the emails a loser had gained to the next winner, and refuses impossible merges', async () => {
    const sim = await openSimulator();
    contacts(sim, 3);
    sim.mergeRecords(TOKEN, 'contacts', '1', '2');
    sim.mergeRecords(TOKEN, 'contacts', '2', '3');
    expect(sim.findByProperty(TOKEN, 'contacts', 'email', 'c1@example.com')?.id).toBe('3');
    expect(sim.getObject(TOKEN, 'contacts', '3')?.aliases?.email?.sort()).toEqual([
      'c1@example.com',
      'c2@example.com',
    ]);
    expect(() => sim.mergeRecords(TOKEN, 'contacts', '3', '3')).toThrow(/itself/);
    expect(() => sim.mergeRecords(TOKEN, 'contacts', '1', '3')).toThrow(/no contacts 1/);
    expect(() => sim.mergeRecords(TOKEN, 'widgets', '1', '3')).toThrow(/unknown object type/);
  });

  it('merges over the control API', async () => {
    const sim = await openSimulator();
    contacts(sim, 2);
    const post = (body: unknown) =>
      fetch(`${sim.url}/_sim/merges/${TOKEN}/contacts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const merged = await post({ loserId: '1', winnerId: '2' });
    expect(merged.status).toBe(200);
    expect(await merged.json()).toMatchObject({ id: '2', aliases: { email: ['c1@example.com'] } });
    expect((await post({ loserId: '1', winnerId: '2' })).status).toBe(400);
    expect((await post({ loserId: '' })).status).toBe(400);
    expect(sim.calls()).toEqual([]);
  });

  it('moves an email lookup with the email: the old one names nothing, the new one the record', async () => {
    const sim = await openSimulator();
    contacts(sim, 2);
    const changed = await update(sim, [
      { id: 'c1@example.com', idProperty: 'email', properties: { email: 'New@example.com' } },
    ]);
    expect(changed.status).toBe(200);
    expect(changed.body.results[0]?.id).toBe('1');
    expect((await read(sim, { idProperty: 'email', ids: ['c1@example.com'] })).status).toBe(207);
    const found = await read(sim, { idProperty: 'email', properties: ['email'], ids: ['new@example.com'] });
    expect(found.body.results[0]).toMatchObject({ id: '1', properties: { email: 'New@example.com' } });
    const byNew = await update(sim, [
      { id: 'new@EXAMPLE.com', idProperty: 'email', properties: { city: 'z' } },
    ]);
    expect(byNew.body.results[0]?.id).toBe('1');
    // The old email is free again; a case variant of the new one is not.
    expect((await update(sim, [{ id: '2', properties: { email: 'c1@example.com' } }])).status).toBe(200);
    expect((await update(sim, [{ id: '2', properties: { email: 'NEW@example.com' } }])).status).toBe(400);
  });
});
