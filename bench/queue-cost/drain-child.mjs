// One drain in a process of its own: a worker process starting on a backlog, as in production, and a crash
// (an uncaught exception in the worker) ends only this process, which the parent reports.
// argv[2]: JSON `{ system, redisUrl, connection, queueName, simUrl, n, lingerMs, concurrency, warmUp }`.
// `warmUp` updates are first drained from a queue of their own, so the timed drain runs JIT-compiled code.
// Reports `{ timed: true }` when the timed drain starts, then `{ result, probe }` over IPC: the drain's figures
// (CPU included) and the address of the connection that polled.
import { Redis } from 'ioredis';
import { redisCpuMs } from './redis-util.mjs';
import {
  deleteQueue,
  drainBull,
  drainOurs,
  enqueueBull,
  enqueueOurs,
  makeUpdates,
  openBullQueue,
  openProducer,
} from './workloads.mjs';

const p = JSON.parse(process.argv[2] ?? '{}');
const ours = p.system === 'ours';
const control = new Redis(p.redisUrl, { maxRetriesPerRequest: null });
await control.ping();

function drain(queueName, n) {
  return ours
    ? drainOurs({ redisUrl: p.redisUrl, control, queueName, simUrl: p.simUrl, n, lingerMs: p.lingerMs })
    : drainBull({ connection: p.connection, queueName, n, concurrency: p.concurrency });
}

if (p.warmUp > 0) {
  const queueName = `${p.queueName}-warm`;
  const updates = makeUpdates(p.warmUp);
  try {
    if (ours) {
      const producer = await openProducer(p.redisUrl, queueName);
      await enqueueOurs(producer, updates);
      await producer.close();
    } else {
      const queue = await openBullQueue(p.connection, queueName);
      await enqueueBull(queue, updates, true);
      await queue.close();
    }
    await drain(queueName, p.warmUp);
  } finally {
    await deleteQueue(control, ours, queueName);
  }
}

// CPU over the timed drain: this process (the worker), and Redis (server-wide, other clients included).
const cpuBefore = process.cpuUsage();
const redisBefore = await redisCpuMs(control);
process.send?.({ timed: true });
const result = await drain(p.queueName, p.n);
const cpu = process.cpuUsage(cpuBefore);
result.workerCpuMs = (cpu.user + cpu.system) / 1000;
result.redisCpuMs = (await redisCpuMs(control)) - redisBefore;
const probe = `${control.stream.localAddress}:${control.stream.localPort}`;
process.send?.({ result, probe });
await control.quit();
process.disconnect();
