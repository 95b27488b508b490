import { describe, expect, it } from 'vitest';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { track } from '../helpers/resources.js';
import { openSimulator, waitUntil } from '../helpers/simulator-client.js';

const TOKEN = 'tok-faults';

/** A simulator, closed after the test, holding contact 1 with firstname "before". */
async function open(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await openSimulator(options);
  sim.createObjects(TOKEN, 'contacts', [{ id: '1', properties: { firstname: 'before' } }]);
  return sim;
}

function send(sim: Simulator, firstname: string, init: { token?: string; signal?: AbortSignal } = {}) {
  return fetch(`${sim.url}/crm/objects/2026-03/contacts/batch/update`, {
    method: 'POST',
    headers: { authorization: `Bearer ${init.token ?? TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ id: '1', properties: { firstname }, objectWriteTraceId: `t-${firstname}` }],
    }),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

const firstname = (sim: Simulator): string | undefined =>
  sim.getObject(TOKEN, 'contacts', '1')?.properties.firstname;

describe('simulator scripted faults', () => {
  it('answers CANCELED without applying, then serves the next call normally', async () => {
    const sim = await open();
    sim.failNext(1, 'canceled');
    const res = await send(sim, 'x');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; results: unknown[] };
    expect(body).toMatchObject({ status: 'CANCELED', results: [] });
    expect(firstname(sim)).toBe('before');
    expect((await send(sim, 'y')).status).toBe(200);
    expect(firstname(sim)).toBe('y');
    expect(sim.calls().map((c) => c.fault)).toEqual(['canceled', undefined]);
  });

  it('applies the write, then answers an HTML 504 for ambiguous504', async () => {
    const sim = await open();
    sim.failNext(1, 'ambiguous504');
    const res = await send(sim, 'applied');
    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(await res.text()).toContain('504 Gateway Time-out');
    expect(firstname(sim)).toBe('applied');
    expect(sim.stats().inputsApplied).toBe(1);
  });

  it('destroys the socket without applying for reset, and after applying for resetAfterApply', async () => {
    const sim = await open();
    sim.failNext(1, 'reset');
    sim.failNext(1, 'resetAfterApply');
    await expect(send(sim, 'lost')).rejects.toThrow();
    expect(firstname(sim)).toBe('before');
    await expect(send(sim, 'landed')).rejects.toThrow();
    expect(firstname(sim)).toBe('landed');
    expect(sim.calls().map((c) => [c.status, c.fault])).toEqual([
      ['reset', 'reset'],
      ['reset', 'resetAfterApply'],
    ]);
    expect(sim.calls()[0]?.traceIds).toEqual(['t-lost']);
  });

  it('answers gateway 5xx pages, 423 and 477 without applying', async () => {
    const sim = await open();
    sim.failNext(1, 'error5xx', { status: 502 });
    sim.failNext(1, 'locked423');
    sim.failNext(1, 'migration477', { retryAfterS: 3600 });
    const bad = await send(sim, 'a');
    expect(bad.status).toBe(502);
    expect(await bad.text()).toContain('502 Bad Gateway');
    const locked = await send(sim, 'b');
    expect(locked.status).toBe(423);
    expect(await locked.json()).toMatchObject({ status: 'error', category: 'LOCKED' });
    const migrating = await send(sim, 'c');
    expect(migrating.status).toBe(477);
    expect(migrating.headers.get('retry-after')).toBe('3600');
    await migrating.body?.cancel();
    expect(firstname(sim)).toBe('before');
  });

  it('answers an explicit status and body', async () => {
    const sim = await open();
    sim.failNext(2, 'status', { status: 409, body: { status: 'error', category: 'CONFLICT' } });
    for (const name of ['a', 'b']) {
      const res = await send(sim, name);
      expect(res.status).toBe(409);
      expect(await res.json()).toEqual({ status: 'error', category: 'CONFLICT' });
    }
    expect((await send(sim, 'c')).status).toBe(200);
  });

  it('applies a hung call even when the client gives up waiting for it', async () => {
    const sim = await open();
    sim.failNext(1, 'hang', { hangMs: 300 });
    await expect(send(sim, 'late', { signal: AbortSignal.timeout(50) })).rejects.toThrow();
    await waitUntil(() => firstname(sim) === 'late', 'the hung write to land');
    await waitUntil(() => sim.calls().length === 1, 'the hung call to be answered');
    expect(sim.calls()[0]).toMatchObject({ status: 200, fault: 'hang' });
  });

  it('scopes scripted faults to a portal when asked', async () => {
    const sim = await open();
    sim.failNext(1, 'canceled', { portal: 'other' });
    expect(((await (await send(sim, 'a')).json()) as { status: string }).status).toBe('COMPLETE');
    expect(((await (await send(sim, 'b', { token: 'other' })).json()) as { status: string }).status).toBe(
      'CANCELED',
    );
  });
});

describe('simulator probabilistic faults and outages', () => {
  it('draws faults from the seeded PRNG, reproducibly', async () => {
    const run = async (): Promise<Array<string | undefined>> => {
      const sim = await open({ seed: 99, faults: { canceled: 0.3, locked423: 0.3 } });
      for (let i = 0; i < 20; i++) await (await send(sim, `v${i}`)).arrayBuffer();
      return sim.calls().map((c) => c.fault);
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['canceled', 'locked423', undefined]));
  });

  it('applies setFaults at runtime and rejects probabilities outside 0..1', async () => {
    const sim = await open();
    sim.setFaults({ error5xx: 1 });
    const failed = await send(sim, 'x');
    expect([500, 502, 503]).toContain(failed.status);
    expect(failed.headers.get('content-type')).toBe('text/html');
    await failed.arrayBuffer();
    sim.setFaults({ error5xx: 0 });
    expect((await send(sim, 'y')).status).toBe(200);
    expect(() => sim.setFaults({ reset: 2 })).toThrow(RangeError);
  });

  it('destroys every API connection while unreachable, keeping the control routes up', async () => {
    const sim = await open();
    expect((await send(sim, 'a')).status).toBe(200);
    sim.setUnreachable(true);
    await expect(send(sim, 'b')).rejects.toThrow();
    expect((await fetch(`${sim.url}/healthz`)).status).toBe(200);
    const off = await fetch(`${sim.url}/_sim/unreachable`, {
      method: 'POST',
      body: JSON.stringify({ on: false }),
    });
    expect(off.status).toBe(200);
    expect((await send(sim, 'c')).status).toBe(200);
    expect(firstname(sim)).toBe('c');
    expect(sim.calls()[1]).toMatchObject({ status: 'reset', fault: 'unreachable', portal: TOKEN });
  });

  it('closes promptly with a call hanging and keep-alive sockets open', async () => {
    const sim = await startSimulator();
    const done = track('simulator');
    sim.createObjects(TOKEN, 'contacts', [{ id: '1', properties: {} }]);
    sim.failNext(1, 'hang', { hangMs: 60_000 });
    const hanging = send(sim, 'x').catch((error: unknown) => error);
    // A hung write lands before the stall, so seeing it means the call is now hanging.
    await waitUntil(() => firstname(sim) === 'x', 'the call to hang');
    await sim.close();
    done();
    expect(await hanging).toBeInstanceOf(Error);
  });
});
