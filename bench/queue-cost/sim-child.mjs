// The HubSpot simulator in a process of its own, so its request handling does not share the event loop (or
// the core) of the worker being measured: a real HubSpot is on the other side of a network.
// argv[2]: JSON `{ options, seed: { portal, objectType, firstId, count, properties } }`; reports `{ url }` over IPC and
// stops on the message 'close'.
import { startSimulator } from '../../dist/simulator/index.js';

const { options, seed } = JSON.parse(process.argv[2] ?? '{}');
const sim = await startSimulator(options);
if (seed) {
  const objects = Array.from({ length: seed.count }, (_, i) => ({
    id: String(seed.firstId + i),
    properties: seed.properties,
  }));
  for (let i = 0; i < objects.length; i += 5000)
    sim.createObjects(seed.portal, seed.objectType, objects.slice(i, i + 5000));
}
process.on('message', async (message) => {
  if (message !== 'close') return;
  await sim.close();
  process.disconnect();
});
process.send?.({ url: sim.url });
