// The HubSpot simulator for the lanes benchmark, in a process of its own (it stands for HubSpot, whose clock does
// not share the driver's event loop). argv[2]: JSON simulator options. Reports `{ type: 'ready', url }` over IPC,
// then answers `{ type: 'results' }` with the batch/update calls reduced to what the benchmark reads (arrival,
// status, latency, inputs, and which inputs carried an interactive update: trace ids starting with `i-`), and
// `{ type: 'stale', token, objects, interactive }` with the properties whose final value is not the one enqueued
// last, checked here so 200,000 objects do not cross the IPC channel.
import { startSimulator } from '../../dist/simulator/index.js';

const sim = await startSimulator(JSON.parse(process.argv[2] ?? '{}'));

/** What the backfill wrote to object `id`: see drain.mjs. */
const bulkValue = (id) => ({ city: `bulk-${id}`, firstname: `n-${id}` });

process.on('message', async (message) => {
  if (message?.type === 'results') {
    const calls = sim
      .calls()
      .filter((c) => c.path.includes('/batch/update'))
      .map((c) => ({
        at: c.at,
        status: c.status,
        latencyMs: c.latencyMs,
        inputCount: c.inputCount,
        interactive: c.traceIds.filter((t) => t?.startsWith('i-')),
      }));
    process.send?.({ type: 'results', calls });
  } else if (message?.type === 'stale') {
    // The interactive updates were enqueued after the whole backfill: the last of them per object wins its city.
    const expected = new Map();
    for (const [id, city] of message.interactive) expected.set(id, city);
    const stale = [];
    let checked = 0;
    for (let i = 1; i <= message.objects; i++) {
      const id = String(i);
      const want = { ...bulkValue(id), ...(expected.has(id) ? { city: expected.get(id) } : {}) };
      const got = sim.getObject(message.token, 'contacts', id)?.properties ?? {};
      for (const [prop, value] of Object.entries(want)) {
        checked++;
        if (got[prop] !== value && stale.length < 1000)
          stale.push({ id, prop, want: value, got: got[prop] ?? null });
      }
    }
    process.send?.({ type: 'stale', checked, stale });
  } else if (message?.type === 'close') {
    await sim.close();
    process.disconnect();
  }
});
process.send?.({ type: 'ready', url: sim.url });
