// Our worker with production defaults in a process of its own, until the parent sends 'close' (latency run).
// argv[2]: JSON `{ redisUrl, queueName, simUrl }`; reports 'started' over IPC.
import { latencyWorker } from './workloads.mjs';

const p = JSON.parse(process.argv[2] ?? '{}');
const worker = latencyWorker(p.redisUrl, p.queueName, p.simUrl);
await worker.start();
process.on('message', async (message) => {
  if (message !== 'close') return;
  await worker.close();
  process.disconnect();
});
process.send?.('started');
