// The HubSpot simulator in a process of its own: it stands for HubSpot, whose arrival clock does not share the
// event loop of the benchmark driver. argv[2]: JSON simulator options. Reports `{ url }` over IPC, then answers
// `{ type: 'outside', token, callsPerSecond }` (starts an outside client), `{ type: 'results' }` (the call log,
// reduced to what the benchmark reads, the stats and the simulator's own event-loop stalls) and `{ type: 'close' }`.
import { startSimulator } from '../../dist/simulator/index.js';

const sim = await startSimulator(JSON.parse(process.argv[2] ?? '{}'));
// The simulator's own stalls (GC, a long body): an arrival is stamped when its handler runs, so a stall here
// would show as a gap at HubSpot's side that no worker made. Recorded so a gap can be told apart.
const stalls = [];
let expected = Date.now() + 5;
setInterval(() => {
  const now = Date.now();
  if (now - expected > 15) stalls.push({ at: expected, ms: now - expected });
  expected = now + 5;
}, 5).unref();
const stops = [];
process.on('message', async (message) => {
  if (message?.type === 'outside') {
    stops.push(sim.startOutsideClient({ token: message.token, callsPerSecond: message.callsPerSecond }));
    process.send?.({ type: 'outside-started' });
  } else if (message?.type === 'stop-outside') {
    for (const stop of stops.splice(0)) stop();
    process.send?.({ type: 'outside-stopped' });
  } else if (message?.type === 'results') {
    const calls = sim.calls().map((c) => ({
      at: c.at,
      status: c.status,
      portal: c.portal,
      path: c.path,
      inputCount: c.inputCount,
      firstId: c.ids[0],
    }));
    process.send?.({ type: 'results', calls, stats: sim.stats(), stalls });
  } else if (message?.type === 'close') {
    await sim.close();
    process.disconnect();
  }
});
process.send?.({ type: 'ready', url: sim.url });
