// The HubSpot simulator in a process of its own: it stands for HubSpot, whose arrival clock does not share the
// event loop of the benchmark driver. argv[2]: JSON simulator options. Reports `{ url }` over IPC, then answers
// `{ type: 'outside', token, callsPerSecond }` (starts an outside client), `{ type: 'results' }` (the call log,
// reduced to what the benchmark reads, and the stats) and `{ type: 'close' }`.
import { startSimulator } from '../../dist/simulator/index.js';

const sim = await startSimulator(JSON.parse(process.argv[2] ?? '{}'));
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
    process.send?.({ type: 'results', calls, stats: sim.stats() });
  } else if (message?.type === 'close') {
    await sim.close();
    process.disconnect();
  }
});
process.send?.({ type: 'ready', url: sim.url });
