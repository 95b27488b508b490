// One drain in a process of its own: a worker process starting on a backlog, as in production, and a crash
// (an uncaught exception in the worker) ends only this process, which the parent reports.
// argv[2]: JSON `{ system, redisUrl, connection, queueName, simUrl, n, lingerMs, concurrency, warmUp, defaults,
// removeOnComplete, countCommands, enqueue, profileFile }`. `enqueue`: the backlog is enqueued here (measured:
// `result.enqueue`) rather than by the parent, so the producer is of the same build as the worker (QC_DIST).
// `warmUp` updates are first drained from a queue of their own, so the timed drain runs JIT-compiled code.
// Reports `{ timed: true }` when the timed drain starts, then `{ result, probe }` over IPC: the drain's figures
// (CPU included) and the address of the connection that polled.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Redis } from 'ioredis';
import {
  commandTally,
  excludeClient,
  installCommandCounter,
  netServerCommands,
  tallyDelta,
} from './count-commands.mjs';
import { commandStats, commandStatsDelta, commandTimes, redisCpuMs } from './redis-util.mjs';
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
if (p.countCommands) installCommandCounter();
const control = new Redis(p.redisUrl, { maxRetriesPerRequest: null });
excludeClient(control);
await control.ping();

function drain(queueName, n) {
  return ours
    ? drainOurs({
        redisUrl: p.redisUrl,
        control,
        queueName,
        simUrl: p.simUrl,
        n,
        lingerMs: p.lingerMs,
        defaults: p.defaults === true,
      })
    : drainBull({
        connection: p.connection,
        queueName,
        n,
        concurrency: p.concurrency,
        removeOnComplete: p.removeOnComplete === true,
      });
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

if (p.enqueue) {
  const updates = makeUpdates(p.n);
  const s0 = await commandStats(control);
  const t0 = commandTally();
  const c0 = await redisCpuMs(control);
  let ms;
  if (ours) {
    const producer = await openProducer(p.redisUrl, p.queueName);
    const t1 = commandTally();
    ms = await enqueueOurs(producer, updates);
    const c1 = await redisCpuMs(control);
    const sent = tallyDelta(t1, commandTally());
    const server = netServerCommands(
      commandStatsDelta(s0, await commandStats(control)),
      tallyDelta(t0, commandTally()),
    );
    p.enqueued = { ms, server, client: sent, redisCpuMs: c1 - c0 };
    await producer.close();
  } else {
    const queue = await openBullQueue(p.connection, p.queueName);
    const t1 = commandTally();
    ms = await enqueueBull(queue, updates, true);
    const c1 = await redisCpuMs(control);
    const sent = tallyDelta(t1, commandTally());
    const server = netServerCommands(
      commandStatsDelta(s0, await commandStats(control)),
      tallyDelta(t0, commandTally()),
    );
    p.enqueued = { ms, server, client: sent, redisCpuMs: c1 - c0 };
    await queue.close();
  }
}

// CPU over the timed drain: this process (the worker), and Redis (server-wide, other clients included).
// Commands: what the server ran (INFO commandstats, Lua-internal calls included) and what this process's
// clients sent, the measuring connection left out of both (its INFO and polling are counted apart).
const statsBefore = p.countCommands ? await commandStats(control) : undefined;
const timesBefore = p.countCommands ? await commandTimes(control) : undefined;
const tallyBefore = commandTally();
const cpuBefore = process.cpuUsage();
const redisBefore = await redisCpuMs(control);
// `profileFile`: a CPU profile of the timed drain only (not start-up, not the warm-up), for cpu-profile.mjs.
let session;
if (p.profileFile) {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
}
process.send?.({ timed: true });
const result = await drain(p.queueName, p.n);
if (session) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(p.profileFile, JSON.stringify(profile));
  session.disconnect();
}
const cpu = process.cpuUsage(cpuBefore);
result.workerCpuMs = (cpu.user + cpu.system) / 1000;
result.redisCpuMs = (await redisCpuMs(control)) - redisBefore;
if (statsBefore) {
  const serverDelta = commandStatsDelta(statsBefore, await commandStats(control));
  result.clientCommands = tallyDelta(tallyBefore, commandTally());
  result.serverCommands = netServerCommands(serverDelta, result.clientCommands);
  result.serverUsec = commandStatsDelta(timesBefore, await commandTimes(control));
}
const probe = `${control.stream.localAddress}:${control.stream.localPort}`;
if (p.enqueued) result.enqueue = p.enqueued;
process.send?.({ result, probe });
await control.quit();
process.disconnect();
