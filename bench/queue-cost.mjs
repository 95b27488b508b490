// Queue cost (issue 5): what one update costs us next to one plain BullMQ job on the same Redis, measured in the
// same run with the baselines alternating with ours: drain rate, enqueue rate, memory per queued update,
// enqueue-to-outcome latency at a light steady load, and Redis commands per update.
// Optional knobs: QC_BENCH_UPDATES (default 20000), QC_BENCH_ROUNDS (default 5), QC_BENCH_COMMAND_UPDATES
// (default 5000), QC_BENCH_LATENCY_SECONDS (default 20).
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { queueKeys } from '../dist/index.js';
import { kindOfKey } from '../dist/keys.js';
import { runDrainProcess, startWorkerProcess } from './queue-cost/drain.mjs';
import { fixed, int, median, percentile, ratio, rounds, verdict } from './queue-cost/figures.mjs';
import {
  bullConnection,
  commandStats,
  commandStatsDelta,
  memoryOf,
  redisCpuMs,
  scriptNames,
  startCommandCounter,
  usedMemory,
} from './queue-cost/redis-util.mjs';
import { startSimulatorProcess } from './queue-cost/sim.mjs';
import {
  bullPattern,
  deleteQueue,
  enqueueBull,
  enqueueOurs,
  FIRST_OBJECT_ID,
  makeUpdates,
  OBJECT_TYPE,
  openBullQueue,
  openProducer,
  ourPattern,
  settledCounts,
  TOKEN,
} from './queue-cost/workloads.mjs';

const env = process.env;
const N = Number(env.QC_BENCH_UPDATES ?? 20_000);
const ROUNDS = Number(env.QC_BENCH_ROUNDS ?? 5);
const N_COMMANDS = Number(env.QC_BENCH_COMMAND_UPDATES ?? 5_000);
const WARM_UP = 2_000;
const LATENCY_RATE = 100;
const LATENCY_SECONDS = Number(env.QC_BENCH_LATENCY_SECONDS ?? 20);
const LATENCY_SIM_MS = 10;
const DEFAULT_LINGER_MS = 250;
const DRAIN_LINGER_MS = 5;
const BULL_HIGH_CONCURRENCY = 50;
/** Tries of one sample whose worker process crashes before it is given up. */
const MAX_ATTEMPTS = 3;

/** Equal-length queue-name parts, so key names cost every system the same. */
const CODE = { ours: 'our', 'bull-c1': 'bc1', 'bull-c50': 'b50', 'bull-auto': 'bid' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tag = () => randomUUID().slice(0, 8);
const perSecond = (n, ms) => (n * 1000) / ms;

/** The simulator of the throughput runs: no latency, no limit, every contact of the backlog pre-created. */
function simOptions(latencyMs) {
  return {
    latencyMs,
    autoCreate: true,
    callLogLimit: 1000,
    portals: { [TOKEN]: { portalId: TOKEN, maxRequests: 1e9, windowMs: 1000, dailyLimit: null } },
    defaultRateLimit: { maxRequests: 1e9, windowMs: 1000, dailyLimit: null },
  };
}

function simSeed(n) {
  return {
    portal: TOKEN,
    objectType: OBJECT_TYPE,
    firstId: FIRST_OBJECT_ID,
    count: n,
    properties: { firstname: 'seed' },
  };
}

/** Memory kinds of our keys, by the key table's names. */
function classifyOurs(queueName) {
  const k = queueKeys(queueName);
  const names = { wait: 'wait list', job: 'job hashes', outcome: 'outcomes', landed: 'landed fences' };
  return (key) => names[kindOfKey(k, key)] ?? 'other';
}

/** Memory kinds of BullMQ's keys (`bull:<queue>:<suffix>`). */
function classifyBull(queueName) {
  const prefix = `bull:${queueName}:`;
  return (key) => {
    const rest = key.slice(prefix.length);
    if (rest === 'wait') return 'wait list';
    if (rest === 'events') return 'events stream';
    if (rest === 'completed') return 'completed set';
    if (!rest.includes(':') && !['id', 'meta', 'marker', 'stalled-check', 'active'].includes(rest))
      return 'job hashes';
    return 'other';
  };
}

/** One sample of one system: enqueue N, measure memory, optionally drain, clean up. */
async function sample(system, round, ctx) {
  const { redisUrl, control, connection, simUrl, log } = ctx;
  const updates = makeUpdates(N);
  const ours = system === 'ours';
  const queueName = `qc-r${round}-${CODE[system]}-${tag()}`;
  const pattern = ours ? ourPattern(queueName) : bullPattern(queueName);
  const classify = ours ? classifyOurs(queueName) : classifyBull(queueName);
  const out = { system, round };
  let producer;
  let queue;
  try {
    if (ours) producer = await openProducer(redisUrl, queueName);
    else queue = await openBullQueue(connection, queueName);
    const memBefore = await usedMemory(control);
    out.enqueueMs = ours
      ? await enqueueOurs(producer, updates)
      : await enqueueBull(queue, updates, system !== 'bull-auto');
    out.usedMemoryDelta = (await usedMemory(control)) - memBefore;
    out.memory = await memoryOf(control, pattern, classify);
    if (system !== 'bull-auto') {
      let simCpuBefore = Number.NaN;
      const d = await runDrainProcess(
        {
          system: ours ? 'ours' : 'bull',
          redisUrl,
          connection,
          queueName,
          simUrl,
          n: N,
          lingerMs: DRAIN_LINGER_MS,
          concurrency: system === 'bull-c50' ? BULL_HIGH_CONCURRENCY : 1,
          warmUp: WARM_UP,
        },
        {
          onTimed: () => {
            simCpuBefore = ctx.sim.cpuMs();
          },
          onResult: (result) => {
            if (result) result.simCpuMs = ctx.sim.cpuMs() - simCpuBefore;
          },
        },
      );
      for (const line of d.lines) log(`    worker: ${line}`);
      out.drain = d.ok ? d.result : { crashed: true, error: d.error };
      if (d.ok && round === 0) out.retained = await memoryOf(control, pattern, classify);
    }
  } finally {
    await producer?.close();
    await queue?.close();
    await deleteQueue(control, ours, queueName);
    // The drain process's warm-up queue, left behind when that process crashed.
    await deleteQueue(control, ours, `${queueName}-warm`);
  }
  const drain = out.drain?.crashed
    ? `, drain CRASHED: ${out.drain.error}`
    : out.drain
      ? `, drain ${fixed(out.drain.ms, 0)} ms (${int(perSecond(N, out.drain.ms))}/s)` +
        (out.drain.timedOut ? ' TIMED OUT' : '') +
        `, CPU µs/update worker ${fixed((out.drain.workerCpuMs * 1000) / N, 0)} Redis ${fixed((out.drain.redisCpuMs * 1000) / N, 0)}` +
        (ours ? ` simulator ${fixed((out.drain.simCpuMs * 1000) / N, 0)}` : '') +
        (out.drain.counts ? ` ${JSON.stringify(out.drain.counts)}` : '') +
        (out.drain.failed ? ` ${out.drain.failed} failed` : '')
      : '';
  log(
    `  round ${round} ${system}: enqueue ${fixed(out.enqueueMs, 0)} ms (${int(perSecond(N, out.enqueueMs))}/s), ` +
      `${fixed(out.memory.total / N, 0)} B/update${drain}`,
  );
  return out;
}

/**
 * An unrecorded enqueue of each system, so both producers run JIT-compiled code with loaded scripts in the
 * rounds (each drain process warms its own worker up).
 */
async function warmUp(ctx) {
  const updates = makeUpdates(WARM_UP);
  const q1 = `qc-warm-${tag()}`;
  const producer = await openProducer(ctx.redisUrl, q1);
  try {
    await enqueueOurs(producer, updates);
  } finally {
    await producer.close();
    await deleteQueue(ctx.control, true, q1);
  }
  const q2 = `qc-warm-${tag()}`;
  const queue = await openBullQueue(ctx.connection, q2);
  try {
    await enqueueBull(queue, updates, true);
    await enqueueBull(queue, makeUpdates(WARM_UP), false);
  } finally {
    await queue.close();
    await deleteQueue(ctx.control, false, q2);
  }
}

/** Commands per update of one system, from MONITOR (attributed) and INFO commandstats (whole server). */
async function commandsOf(system, ctx) {
  const { redisUrl, control, connection, simUrl } = ctx;
  const updates = makeUpdates(N_COMMANDS);
  const ours = system === 'ours';
  const queueName = `qc-cm-${CODE[system]}-${tag()}`;
  let producer;
  let queue;
  let counter;
  try {
    if (ours) producer = await openProducer(redisUrl, queueName);
    else queue = await openBullQueue(connection, queueName);
    counter = await startCommandCounter(redisUrl, control, queueName);
    await counter.mark('enqueue');
    const s0 = await commandStats(control);
    if (ours) await enqueueOurs(producer, updates);
    else await enqueueBull(queue, updates, true);
    await counter.mark('drain');
    const s1 = await commandStats(control);
    const drain = await runDrainProcess({
      system: ours ? 'ours' : 'bull',
      redisUrl,
      connection,
      queueName,
      simUrl,
      n: N_COMMANDS,
      lingerMs: DRAIN_LINGER_MS,
      concurrency: system === 'bull-c50' ? BULL_HIGH_CONCURRENCY : 1,
      warmUp: 0,
    });
    const s2 = await commandStats(control);
    const phases = await counter.stop(drain.probe ? [drain.probe] : []);
    counter = undefined;
    if (!drain.ok) throw new Error(drain.error);
    const serverWide = (a, b) => Object.values(commandStatsDelta(a, b)).reduce((x, y) => x + y, 0);
    return {
      system,
      drain: drain.result,
      lines: drain.lines,
      enqueue: { ...phases.enqueue, serverWide: serverWide(s0, s1) },
      process: { ...phases.drain, serverWide: serverWide(s1, s2) },
    };
  } finally {
    if (counter) await counter.stop().catch(() => {});
    await producer?.close();
    await queue?.close();
    await deleteQueue(control, ours, queueName);
  }
}

/** Enqueue-to-outcome latency at a steady LATENCY_RATE updates/s, production linger, 10 ms simulator. */
async function latencyRun(ctx) {
  const { redisUrl, control, log } = ctx;
  const n = LATENCY_RATE * LATENCY_SECONDS;
  const sim = await startSimulatorProcess(simOptions(LATENCY_SIM_MS), simSeed(n));
  const queueName = `qc-latency-${tag()}`;
  let worker;
  let producer;
  try {
    worker = await startWorkerProcess({ redisUrl, queueName, simUrl: sim.url });
    producer = await openProducer(redisUrl, queueName);
    await sleep(500);
    const updates = makeUpdates(n);
    const pending = [];
    const started = performance.now();
    let sent = 0;
    while (sent < n) {
      const due = Math.min(n, Math.floor(((performance.now() - started) * LATENCY_RATE) / 1000) + 1);
      while (sent < due) pending.push(producer.enqueue(updates[sent++]));
      await sleep(2);
    }
    const sendSeconds = (performance.now() - started) / 1000;
    await Promise.all(pending);
    const ids = updates.map((u) => u.objectWriteTraceId);
    const outcomes = await producer.waitForOutcomes(ids, { timeoutMs: 60_000 });
    if (worker.exited() !== null) throw new Error(`worker process exited (${worker.exited()})`);
    for (const line of worker.lines) log(`    worker: ${line}`);
    const latencies = outcomes.map((o) => o.finishedAt - o.enqueuedAt);
    const counts = await settledCounts(control, queueName);
    const result = {
      n,
      sendSeconds,
      counts,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: Math.max(...latencies),
      min: Math.min(...latencies),
    };
    log(
      `  latency: ${n} updates in ${fixed(sendSeconds, 1)} s, p50 ${result.p50} ms, p90 ${result.p90} ms, ` +
        `p99 ${result.p99} ms, max ${result.max} ms, ${JSON.stringify(counts)}`,
    );
    return result;
  } finally {
    await producer?.close();
    await worker?.close();
    await sim.close();
    await deleteQueue(control, true, queueName);
  }
}

const kindsLine = (memory, n) =>
  Object.entries(memory.byKind)
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .map(([kind, v]) => `${kind} ${fixed(v.bytes / n, 0)}`)
    .join(', ');

export async function run({ redisUrl, log }) {
  const control = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const connection = bullConnection(redisUrl);
  const load = os.loadavg()[0];
  const samples = [];
  let latency;
  const commands = [];
  const crashes = [];
  const starts = {};
  let background = Number.NaN;
  log(`queue cost: ${N} updates, ${ROUNDS} rounds; load average ${fixed(load, 2)}`);
  const sim = await startSimulatorProcess(simOptions(0), simSeed(Math.max(N, N_COMMANDS, WARM_UP)));
  const ctx = { redisUrl, control, connection, sim, simUrl: sim.url, log };
  try {
    log('warm-up');
    await warmUp(ctx);
    const before = await redisCpuMs(control);
    await sleep(3000);
    background = ((await redisCpuMs(control)) - before) / 3000;
    log(`  Redis CPU used by other clients: ${fixed(background * 100, 0)}% of a core`);
    const systems = ['ours', 'bull-c1', 'bull-c50', 'bull-auto'];
    for (let r = 0; r < ROUNDS; r++) {
      const order = [...systems.slice(r % systems.length), ...systems.slice(0, r % systems.length)];
      for (const system of order) {
        for (let attempt = 0; ; attempt++) {
          const s = await sample(system, r, ctx);
          if (s.drain) starts[system] = (starts[system] ?? 0) + 1;
          if (!s.drain?.crashed) {
            samples.push(s);
            break;
          }
          crashes.push({ system, round: r, error: s.drain.error });
          if (attempt + 1 >= MAX_ATTEMPTS) {
            samples.push(s);
            break;
          }
        }
      }
    }
    log('commands per update (MONITOR)');
    for (const system of ['ours', 'bull-c1', 'bull-c50']) {
      let c;
      for (let attempt = 0; !c; attempt++) {
        starts[system] = (starts[system] ?? 0) + 1;
        try {
          c = await commandsOf(system, ctx);
        } catch (err) {
          crashes.push({ system, round: 'commands', error: String(err.message ?? err) });
          log(`  ${system}: ${err.message ?? err}`);
          if (attempt + 1 >= MAX_ATTEMPTS) break;
        }
      }
      if (!c) continue;
      for (const line of c.lines) log(`    worker: ${line}`);
      commands.push(c);
      log(
        `  ${system}: enqueue ${c.enqueue.ours.top} top-level (${c.enqueue.ours.scripts} scripts) + ` +
          `${c.enqueue.ours.lua} in Lua; process ${c.process.ours.top} top-level (${c.process.ours.scripts} ` +
          `scripts) + ${c.process.ours.lua} in Lua; other clients ${c.enqueue.others + c.process.others}; ` +
          `enqueue top-level ${JSON.stringify(c.enqueue.ours.byCommand)}, ` +
          `process top-level ${JSON.stringify(c.process.ours.byCommand)}`,
      );
    }
  } finally {
    await sim.close();
  }
  try {
    log(`latency at ${LATENCY_RATE} updates/s for ${LATENCY_SECONDS} s`);
    for (let attempt = 0; !latency; attempt++) {
      starts.ours = (starts.ours ?? 0) + 1;
      try {
        latency = await latencyRun(ctx);
      } catch (err) {
        crashes.push({ system: 'ours', round: 'latency', error: String(err.message ?? err) });
        log(`  latency run failed: ${err.message ?? err}`);
        if (attempt + 1 >= MAX_ATTEMPTS) break;
      }
    }
  } finally {
    await control.quit();
  }
  return report({ samples, commands, latency, load, crashes, starts, background });
}

const SCRIPT_NAMES = scriptNames(fileURLToPath(new URL('../dist/', import.meta.url)));

/** Rows of the per-script table: each of our scripts' calls and the commands it ran (itself included). */
function scriptRows(c) {
  const merged = {};
  for (const phase of [c.enqueue, c.process]) {
    for (const [sha, x] of Object.entries(phase.ours.byScript)) {
      const name = SCRIPT_NAMES[sha] ?? 'other';
      merged[name] ??= { calls: 0, commands: 0 };
      merged[name].calls += x.calls;
      merged[name].commands += x.calls + x.inner;
    }
  }
  const total = c.enqueue.ours.total + c.process.ours.total;
  return Object.entries(merged)
    .sort((a, b) => b[1].commands - a[1].commands)
    .map(
      ([name, x]) =>
        `| ${name} | ${int(x.calls)} | ${fixed(x.commands / x.calls, 1)} | ${fixed(x.commands / N_COMMANDS, 2)} | ` +
        `${fixed((100 * x.commands) / total, 1)}% |`,
    );
}

function report({ samples, commands, latency, load, crashes, starts, background }) {
  const of = (system) => samples.filter((s) => s.system === system);
  const drainRates = (system) => of(system).map((s) => perSecond(N, s.drain.ms));
  const enqueueRates = (system) => of(system).map((s) => perSecond(N, s.enqueueMs));
  const ours = of('ours');
  const incomplete = samples.filter((s) => s.drain?.timedOut).length;
  const failedUpdates = ours.reduce((n, s) => n + (s.drain?.counts?.failed ?? 0), 0);
  const lost = samples.filter((s) => s.drain?.crashed).length;

  const drainOurs = median(drainRates('ours'));
  const drainC1 = median(drainRates('bull-c1'));
  const drainC50 = median(drainRates('bull-c50'));
  const enqOurs = median(enqueueRates('ours'));
  const bullCustom = [...of('bull-c1'), ...of('bull-c50')];
  const enqCustom = median(bullCustom.map((s) => perSecond(N, s.enqueueMs)));
  const enqAuto = median(enqueueRates('bull-auto'));
  const memOurs = median(ours.map((s) => s.memory.total / N));
  const memCustom = median(bullCustom.map((s) => s.memory.total / N));
  const memAuto = median(of('bull-auto').map((s) => s.memory.total / N));
  const usedOurs = median(ours.map((s) => s.usedMemoryDelta / N));
  const usedCustom = median(bullCustom.map((s) => s.usedMemoryDelta / N));
  const usedAuto = median(of('bull-auto').map((s) => s.usedMemoryDelta / N));
  const first = (system) => of(system).find((s) => s.round === 0);
  const bound = DEFAULT_LINGER_MS + 100;

  const out = [
    '## Queue cost (issue 5)',
    '',
    `What one update costs next to one plain BullMQ job (bullmq 6, default prefix \`bull\`) on the same Redis. ` +
      `Every figure is the median of ${ROUNDS} rounds in which the systems take turns (the order rotates each ` +
      `round), after an unrecorded warm-up enqueue of each; each sample uses a fresh queue (names of equal ` +
      `length) whose keys are deleted afterwards. The backlog is ${int(N)} updates to distinct contacts, each ` +
      `with three properties (\`firstname\`, \`lastname\`, \`email\`), a UUID trace id and the default account; a ` +
      `BullMQ job's \`data\` is the same object, so both store the same JSON bytes. Producers run in the ` +
      `benchmark process; every drain runs in a fresh worker process (ours or BullMQ's) that first drains ` +
      `${int(WARM_UP)} updates of a queue of its own, so the timed drain runs warmed-up code; the HubSpot ` +
      `simulator runs in a third process (a real HubSpot is across a network). The Redis server is shared with ` +
      `whatever else runs on the machine (load average ${fixed(load, 2)} when the suite started), so timings ` +
      `carry that noise; memory and command counts are taken from our own keys and our own connections only.`,
  ];
  if (incomplete > 0 || failedUpdates > 0)
    out.push(
      '',
      `**Warning:** ${incomplete} drain(s) timed out, ${failedUpdates} update(s) failed in our drains.`,
    );
  if (crashes.length > 0) {
    const bySystem = {};
    for (const c of crashes) {
      bySystem[c.system] ??= { count: 0, errors: new Set() };
      bySystem[c.system].count++;
      bySystem[c.system].errors.add(c.error);
    }
    out.push(
      '',
      `**Warning: worker processes crashed.** A sample whose worker process crashed was re-run with a fresh ` +
        `queue (each drain process starts two workers, the warm-up and the timed one), up to ${MAX_ATTEMPTS} ` +
        `tries; ${lost} sample(s) had no run without a crash and are left out of the medians.`,
      '',
      ...Object.entries(bySystem).map(
        ([system, b]) =>
          `- ${system}: ${b.count} crash(es) in ${starts[system] ?? 0} process(es); ` +
          [...b.errors].map((e) => `\`${e.replaceAll('`', "'")}\``).join('; '),
      ),
    );
  }

  // 1. Drain rate
  out.push(
    '',
    '### Drain rate',
    '',
    `A backlog of ${int(N)} is enqueued first; then one worker starts and the clock runs until the last update ` +
      `has a terminal outcome. Ours: \`createWorker\` with default concurrency (8 batches in flight), linger ` +
      `${DRAIN_LINGER_MS} ms, property validation off, an account budget of 10⁹ calls per second, the simulator ` +
      `at zero latency and no limit; the end is seen by polling the stats hash's settled counters every 5 ms. ` +
      `Baseline: a plain BullMQ \`Worker\` with a no-op processor and default options (concurrency 1, completed ` +
      `jobs kept), and the same with concurrency ${BULL_HIGH_CONCURRENCY}; the end is its ${int(N)}th ` +
      `\`completed\` event. Both include connecting.`,
    '',
    '| System | Updates (jobs) / s, median | Rounds | Ours ÷ this |',
    '|---|---:|---:|---:|',
    `| Ours: one worker, batches of 100 | ${int(drainOurs)} | ${rounds(drainRates('ours'))} | — |`,
    `| BullMQ no-op worker, default options (concurrency 1) | ${int(drainC1)} | ${rounds(drainRates('bull-c1'))} | ${ratio(drainOurs / drainC1)} |`,
    `| BullMQ no-op worker, concurrency ${BULL_HIGH_CONCURRENCY} | ${int(drainC50)} | ${rounds(drainRates('bull-c50'))} | ${ratio(drainOurs / drainC50)} |`,
  );

  const cpuOf = (system, field, net) =>
    median(
      of(system)
        .filter((x) => x.drain && !x.drain.crashed)
        .map((x) => ((x.drain[field] - (net ? background * x.drain.ms : 0)) * 1000) / N),
    );
  const cpuRow = (label, system, sim) => {
    const worker = cpuOf(system, 'workerCpuMs');
    const redis = cpuOf(system, 'redisCpuMs', true);
    const simulator = sim ? cpuOf(system, 'simCpuMs') : 0;
    return (
      `| ${label} | ${fixed(worker, 0)} | ${fixed(redis, 0)} (${fixed(cpuOf(system, 'redisCpuMs'), 0)}) | ` +
      `${sim ? fixed(simulator, 0) : '—'} | ${fixed(worker + redis, 0)} |`
    );
  };
  out.push(
    '',
    `CPU per update over the timed drains (medians): the worker process's own CPU time (\`process.cpuUsage\`), ` +
      `Redis's (\`INFO cpu\`, user + system, net of the ${fixed(background * 100, 0)}% of a core other clients ` +
      'used in a 3-s sample before the rounds; the raw server-wide figure in brackets) and the simulator ' +
      "process's (/proc), which stands in for HubSpot and is not part of our cost. Both Redis and the worker " +
      'run on the same 2 cores.',
    '',
    '| System | Worker CPU µs / update | Redis CPU µs / update (raw) | Simulator CPU µs / update | Worker + Redis |',
    '|---|---:|---:|---:|---:|',
    cpuRow('Ours', 'ours', true),
    cpuRow('BullMQ no-op worker, concurrency 1', 'bull-c1', false),
    cpuRow(`BullMQ no-op worker, concurrency ${BULL_HIGH_CONCURRENCY}`, 'bull-c50', false),
  );

  // 2. Enqueue rate
  out.push(
    '',
    '### Enqueue rate',
    '',
    `The same ${int(N)} updates handed over in calls of 1,000: \`producer.enqueueMany\` (which validates each ` +
      'update and writes them 500 per Lua call) against `queue.addBulk` with job ids `t-<traceId>` as ours use ' +
      '(BullMQ then checks each id for a duplicate, as we do), and `addBulk` with BullMQ-generated ids. Timed ' +
      'from the first call to the last reply, connections already open.',
    '',
    '| System | Updates (jobs) / s, median | Rounds | Ours ÷ this |',
    '|---|---:|---:|---:|',
    `| Ours: \`enqueueMany\` | ${int(enqOurs)} | ${rounds(enqueueRates('ours'))} | — |`,
    `| BullMQ \`addBulk\`, job ids \`t-<traceId>\` | ${int(enqCustom)} | ${rounds(bullCustom.map((s) => perSecond(N, s.enqueueMs)))} | ${ratio(enqOurs / enqCustom)} |`,
    `| BullMQ \`addBulk\`, generated ids | ${int(enqAuto)} | ${rounds(enqueueRates('bull-auto'))} | ${ratio(enqOurs / enqAuto)} |`,
  );

  // 3. Memory
  const r0 = first('ours');
  const b0 = first('bull-c1');
  const a0 = first('bull-auto');
  out.push(
    '',
    '### Redis memory per queued update',
    '',
    `After enqueueing ${int(N)} updates and before any worker starts: the sum of \`MEMORY USAGE <key> SAMPLES 0\` ` +
      "(every element counted) over the queue's keys, divided by the number of updates; the breakdown is by key " +
      "kind. BullMQ's events stream (an `added` entry per job) is part of its cost; BullMQ trims it to about " +
      '10,000 entries by default, so its share per job shrinks for backlogs beyond that (here: ' +
      `${int(N)} jobs). The \`used_memory\` delta is the server's own figure over the enqueue; it includes the ` +
      'keyspace overhead but also whatever other clients did meanwhile, so it is shown for reference only.',
    '',
    '| System | Bytes / update (MEMORY USAGE), median | Breakdown (bytes / update) | `used_memory` delta / update | Ours ÷ this |',
    '|---|---:|---|---:|---:|',
    `| Ours | ${fixed(memOurs, 0)} | ${r0 ? kindsLine(r0.memory, N) : ''} | ${fixed(usedOurs, 0)} | — |`,
    `| BullMQ, job ids \`t-<traceId>\` | ${fixed(memCustom, 0)} | ${b0 ? kindsLine(b0.memory, N) : ''} | ${fixed(usedCustom, 0)} | ${ratio(memOurs / memCustom)} |`,
    `| BullMQ, generated ids | ${fixed(memAuto, 0)} | ${a0 ? kindsLine(a0.memory, N) : ''} | ${fixed(usedAuto, 0)} | ${ratio(memOurs / memAuto)} |`,
  );
  const retainedRow = (label, s) =>
    s?.retained
      ? `| ${label} | ${fixed(s.retained.total / N, 0)} | ${kindsLine(s.retained, N)} |`
      : `| ${label} | n/a | |`;
  out.push(
    '',
    'What stays after the drain (round 1): ours keeps one outcome record per update and a landed-sequence fence ' +
      'per object, both expiring after the outcome TTL (7 days by default); BullMQ with default options keeps ' +
      'every completed job, without expiry, plus its events stream.',
    '',
    '| System | Bytes / update retained after draining | Breakdown (bytes / update) |',
    '|---|---:|---|',
    retainedRow('Ours', r0),
    retainedRow('BullMQ, default worker (concurrency 1)', first('bull-c1')),
  );

  // 4. Latency
  out.push(
    '',
    '### Latency from enqueue to terminal outcome',
    '',
    `${LATENCY_RATE} updates per second for ${LATENCY_SECONDS} s (${int(LATENCY_RATE * LATENCY_SECONDS)} ` +
      'updates to distinct contacts, each enqueued on its own with `producer.enqueue` on a 10 ms schedule) into ' +
      `one worker with default settings (linger ${DEFAULT_LINGER_MS} ms, concurrency 8, property validation ` +
      `off); the simulator answers after ${LATENCY_SIM_MS} ms. Latency is each outcome record's \`finishedAt − ` +
      'enqueuedAt` (enqueue time from Redis, finish time from the worker, same host clock). A partial batch ' +
      'is sent once its oldest update has waited the linger time, so the updates that joined it later wait ' +
      'less: the median sits below the linger time and the tail near it.',
    '',
    '| Updates | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | Bound: linger + 100 ms | Result |',
    '|---:|---:|---:|---:|---:|---:|---|',
    latency
      ? `| ${int(latency.n)} | ${latency.p50} | ${latency.p90} | ${latency.p99} | ${latency.max} | ${bound} | ${verdict(latency.p99 <= bound)} |`
      : '| n/a | | | | | | |',
  );

  // 5. Commands
  const per = (x, n) => fixed(x / n, 2);
  const cmdRow = (label, c, phase) => {
    const p = c[phase];
    return (
      `| ${label} | ${fixed(p.ours.top / N_COMMANDS, 3)} | ${fixed(p.ours.scripts / N_COMMANDS, 3)} | ` +
      `${per(p.ours.lua, N_COMMANDS)} | ${per(p.ours.total, N_COMMANDS)} | ${per(p.serverWide, N_COMMANDS)} |`
    );
  };
  const label = {
    ours: 'Ours',
    'bull-c1': 'BullMQ (concurrency 1)',
    'bull-c50': `BullMQ (concurrency ${BULL_HIGH_CONCURRENCY})`,
  };
  const sumOf = (c) => c.enqueue.ours.total + c.process.ours.total;
  const topOf = (c) => c.enqueue.ours.top + c.process.ours.top;
  out.push(
    '',
    '### Redis commands per update',
    '',
    `A separate pass of ${int(N_COMMANDS)} updates per system (enqueue, then drain as above) with a MONITOR ` +
      'connection open, which shows every command Redis executes, including those a Lua script runs. Each command ' +
      "is attributed to the connection that sent it (a script's commands to the connection whose EVALSHA ran it); " +
      'connections that never touch the queue belong to other clients of the shared Redis and are left out. ' +
      '"Top-level" counts what clients send (each is a command in the request stream, though pipelining packs ' +
      'many into one network round trip); "in Lua" counts what scripts execute; the total is what ' +
      "`INFO commandstats` would count for these connections. The last column is the whole server's " +
      '`INFO commandstats` delta over the same phase, other clients included.',
    '',
    '| System, phase | Top-level / update | of which EVALSHA/EVAL | In Lua / update | Total / update | Server-wide commandstats delta / update |',
    '|---|---:|---:|---:|---:|---:|',
  );
  for (const c of commands) {
    out.push(
      cmdRow(`${label[c.system]}, enqueue`, c, 'enqueue'),
      cmdRow(`${label[c.system]}, process`, c, 'process'),
    );
  }
  const cOurs = commands.find((c) => c.system === 'ours');
  const cC1 = commands.find((c) => c.system === 'bull-c1');
  if (cOurs && cC1) {
    out.push(
      '',
      `Enqueue and process together: ours ${fixed(topOf(cOurs) / N_COMMANDS, 3)} top-level and ` +
        `${per(sumOf(cOurs), N_COMMANDS)} total commands per update; BullMQ (default worker) ` +
        `${per(topOf(cC1), N_COMMANDS)} and ${per(sumOf(cC1), N_COMMANDS)} per job ` +
        `(${ratio(sumOf(cOurs) / sumOf(cC1))} of BullMQ's total).`,
      '',
      'Our scripts, enqueue and drain (calls, EVAL fallbacks included, and the Redis commands each ran, itself ' +
        'included):',
      '',
      '| Script | Calls | Commands / call | Commands / update | Share of our total |',
      '|---|---:|---:|---:|---:|',
      ...scriptRows(cOurs),
      '',
      `Top-level commands of our drain: ${Object.entries(cOurs.process.ours.byCommand)
        .sort((a, b) => b[1] - a[1])
        .map(([cmd, n]) => `${cmd} ${n}`)
        .join(', ')} (for ${int(N_COMMANDS)} updates).`,
    );
  }

  // Acceptance
  out.push(
    '',
    '### Acceptance',
    '',
    '| Criterion | Measured | Result |',
    '|---|---|---|',
    `| Drain rate ≥ 1.0× plain BullMQ no-op jobs/s (default worker) | ${int(drainOurs)} vs ${int(drainC1)} /s (${ratio(drainOurs / drainC1)}); vs concurrency ${BULL_HIGH_CONCURRENCY}: ${int(drainC50)} /s (${ratio(drainOurs / drainC50)}) | ${verdict(drainOurs >= drainC1 && incomplete === 0 && failedUpdates === 0 && lost === 0)} |`,
    `| Enqueue rate ≥ 1.0× \`addBulk\` (same job ids) | ${int(enqOurs)} vs ${int(enqCustom)} /s (${ratio(enqOurs / enqCustom)}); vs generated ids ${int(enqAuto)} /s (${ratio(enqOurs / enqAuto)}) | ${verdict(enqOurs >= enqCustom)} |`,
    `| Memory per queued update ≤ a plain BullMQ job's (same job ids) | ${fixed(memOurs, 0)} vs ${fixed(memCustom, 0)} B (${ratio(memOurs / memCustom)}); vs generated ids ${fixed(memAuto, 0)} B (${ratio(memOurs / memAuto)}) | ${verdict(memOurs <= memCustom)} |`,
    `| p99 enqueue-to-outcome at ${LATENCY_RATE} updates/s ≤ linger + 100 ms (${bound} ms) | ${latency ? `p99 ${latency.p99} ms (p50 ${latency.p50} ms)` : 'n/a'} | ${verdict(latency && latency.p99 <= bound)} |`,
  );
  return out.join('\n');
}
