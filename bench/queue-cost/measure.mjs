// Where the queue's cost goes (issue 16), as a user would see it: one worker with default settings against a
// zero-latency simulator, next to BullMQ's no-op worker at concurrency 50 (completed jobs kept, its default) and
// at concurrency 100 with `removeOnComplete`, on the same Redis in the same run (the systems take turns, the
// order rotating each round). Per system: drain updates/s; Redis commands per update, enqueue and process,
// as the server counts them (INFO commandstats, Lua-internal calls included) and as the clients sent them; Redis
// CPU per update; worker CPU per update; memory retained after the drain. Then a profile pass of ours: a CPU
// profile of the worker process (top self time) and which commands and scripts the Redis time goes to.
//
//   npm run build && node bench/queue-cost/measure.mjs
//
// Knobs: QC_N (updates, default 50000), QC_ROUNDS (default 3), QC_SYSTEMS (comma list of ours, bull-c50,
// bull-c100-roc, ours-base), QC_PROFILE (0 skips the profile pass), QC_REDIS_URL (default: a private
// redis-server, so the server-wide figures are the workload's alone), QC_JSON (a file to write the raw figures
// to), QC_BASE_DIST (another build's `dist/`, e.g. of the main branch: measured as `ours-base`, producer and
// worker both, for before/after figures from one run).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { queueKeys } from '../../dist/index.js';
import { kindOfKey } from '../../dist/keys.js';
import { excludeClient, installCommandCounter } from './count-commands.mjs';
import { summariseProfile } from './cpu-profile.mjs';
import { runDrainProcess } from './drain.mjs';
import { fixed, int, median, ratio, rounds } from './figures.mjs';
import { startPrivateRedis } from './private-redis.mjs';
import { bullConnection, memoryOf, usedMemory } from './redis-util.mjs';
import { monitorScripts } from './script-commands.mjs';
import { startSimulatorProcess } from './sim.mjs';
import {
  bullPattern,
  deleteQueue,
  FIRST_OBJECT_ID,
  OBJECT_TYPE,
  ourPattern,
  TOKEN,
  WORKLOAD,
} from './workloads.mjs';

const env = process.env;
const N = Number(env.QC_N ?? 50_000);
const ROUNDS = Number(env.QC_ROUNDS ?? 3);
const WARM_UP = 2_000;
const PROFILE = env.QC_PROFILE !== '0';
const SYSTEMS = {
  ours: { label: 'Ours: one worker, default settings', drain: { system: 'ours', defaults: true } },
  // QC_BASE_DIST may list several builds (comma-separated, each `path` or `name=path`): `ours-base`, `ours-base2`...
  ...Object.fromEntries(
    (env.QC_BASE_DIST ?? '')
      .split(',')
      .filter((d) => d !== '')
      .map((item, i) => {
        // `name=path` names the build in the tables; a bare path is named by itself.
        const [name, dist] = item.includes('=') ? item.split('=') : [`as built in ${item}`, item];
        return [
          i === 0 ? 'ours-base' : `ours-base${i + 1}`,
          { label: `Ours, ${name}`, drain: { system: 'ours', defaults: true }, env: { QC_DIST: dist } },
        ];
      }),
  ),
  'bull-c50': {
    label: 'BullMQ no-op worker, concurrency 50 (completed kept)',
    drain: { system: 'bull', concurrency: 50 },
  },
  'bull-c100-roc': {
    label: 'BullMQ no-op worker, concurrency 100, removeOnComplete',
    drain: { system: 'bull', concurrency: 100, removeOnComplete: true },
  },
};
const chosen = (env.QC_SYSTEMS ?? Object.keys(SYSTEMS).join(',')).split(',').filter((s) => SYSTEMS[s]);
const isOurs = (name) => name.startsWith('ours');
const log = (text) => process.stderr.write(`${text}\n`);
const tag = () => randomUUID().slice(0, 8);
const sum = (o) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);

function simOptions() {
  return {
    latencyMs: 0,
    autoCreate: true,
    callLogLimit: 1000,
    portals: { [TOKEN]: { portalId: TOKEN, maxRequests: 1e9, windowMs: 1000, dailyLimit: null } },
    defaultRateLimit: { maxRequests: 1e9, windowMs: 1000, dailyLimit: null },
  };
}

function classifyOurs(queueName) {
  const k = queueKeys(queueName);
  return (key) => kindOfKey(k, key) ?? 'other';
}

function classifyBull(queueName) {
  const prefix = `bull:${queueName}:`;
  return (key) => {
    const rest = key.slice(prefix.length);
    if (['wait', 'events', 'completed', 'meta', 'id', 'marker', 'active', 'stalled-check'].includes(rest))
      return rest;
    return rest.includes(':') ? 'other' : 'job hashes';
  };
}

/** One sample: a fresh process enqueues N and drains them (measuring both); then retained memory, cleanup. */
async function sample(name, ctx, extra = {}, params = {}) {
  const { redisUrl, control, connection } = ctx;
  const ours = isOurs(name);
  const queueName = `qm-${name.slice(0, 3)}-${tag()}`;
  const out = { system: name };
  try {
    const mem0 = await usedMemory(control);
    const d = await runDrainProcess(
      {
        ...SYSTEMS[name].drain,
        redisUrl,
        connection,
        queueName,
        simUrl: ctx.sim.url,
        n: N,
        lingerMs: 5,
        warmUp: WARM_UP,
        countCommands: true,
        enqueue: true,
        ...params,
      },
      { ...extra, timeoutMs: 600_000, ...(SYSTEMS[name].env ? { env: SYSTEMS[name].env } : {}) },
    );
    for (const line of d.lines.slice(0, 5)) log(`    worker: ${line}`);
    if (!d.ok) throw new Error(d.error);
    out.drain = d.result;
    out.enqueue = d.result.enqueue;
    out.enqueueMs = d.result.enqueue.ms;
    out.retainedUsed = (await usedMemory(control)) - mem0;
    out.retained = await memoryOf(
      control,
      ours ? ourPattern(queueName) : bullPattern(queueName),
      ours ? classifyOurs(queueName) : classifyBull(queueName),
    );
  } finally {
    await deleteQueue(control, ours, queueName);
    await deleteQueue(control, ours, `${queueName}-warm`);
  }
  const dr = out.drain;
  const done = dr.counts ? dr.counts.succeeded + dr.counts.failed + dr.counts.superseded : dr.completed;
  log(
    `  ${name}: drain ${int((N * 1000) / dr.ms)}/s (${int(dr.ms)} ms, ${done} done${dr.timedOut ? ', TIMED OUT' : ''}), ` +
      `commands/update enqueue ${fixed(sum(out.enqueue.server) / N, 2)} process ${fixed(sum(dr.serverCommands) / N, 2)}, ` +
      `Redis CPU µs/update ${fixed(((out.enqueue.redisCpuMs + dr.redisCpuMs) * 1000) / N, 1)}, ` +
      `worker CPU µs/update ${fixed((dr.workerCpuMs * 1000) / N, 1)}, retained ${fixed(out.retainedUsed / N, 0)} B/update`,
  );
  return out;
}

/** The profile pass: ours once more, the worker's timed drain profiled, Redis's slow log catching every call. */
async function profilePass(ctx) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qc-prof-'));
  const { control } = ctx;
  const slowlog = await control.config('GET', 'slowlog-*');
  await control.config('SET', 'slowlog-max-len', '1000000');
  const monitor = await monitorScripts(ctx.redisUrl);
  let s;
  try {
    s = await sample(
      'ours',
      ctx,
      {
        onTimed: () => {
          monitor.reset();
          control.config('SET', 'slowlog-log-slower-than', '0').then(() => control.slowlog('RESET'));
        },
      },
      { profileFile: path.join(dir, 'drain.cpuprofile') },
    );
    const entries = await control.slowlog('GET', -1);
    await control.config(
      'SET',
      'slowlog-log-slower-than',
      slowlog[slowlog.indexOf('slowlog-log-slower-than') + 1],
    );
    await control.config('SET', 'slowlog-max-len', slowlog[slowlog.indexOf('slowlog-max-len') + 1]);
    await control.slowlog('RESET');
    const names = s.drain.clientCommands.scriptNames;
    const scripts = await monitor.stop(names);
    const byCall = {};
    for (const e of entries) {
      const args = e[3];
      const cmd = String(args[0]).toLowerCase();
      if (cmd === 'slowlog' || cmd === 'config' || cmd === 'info') continue;
      const key = cmd === 'evalsha' ? `script ${names[String(args[1])] ?? String(args[1]).slice(0, 8)}` : cmd;
      byCall[key] ??= { calls: 0, us: 0, max: 0 };
      byCall[key].calls += 1;
      byCall[key].us += Number(e[2]);
      byCall[key].max = Math.max(byCall[key].max, Number(e[2]));
    }
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    const profile = files[0] ? summariseProfile(path.join(dir, files[0])) : undefined;
    return { sample: s, byCall, scripts, profile };
  } finally {
    await monitor.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(samples, prof) {
  const lines = [];
  const of = (name) => samples.filter((s) => s.system === name);
  const rate = (s) => (N * 1000) / s.drain.ms;
  const med = (name, f) => median(of(name).map(f));
  const oursRate = med('ours', rate);
  lines.push(
    `Queue cost, ${int(N)} updates to distinct contacts of one account (${WORKLOAD === 'plain' ? 'first and last name' : 'first and last name and email, a unique value the queue maps'}; budget 10^9/s), simulator at zero latency, ` +
      `${ROUNDS} round(s), medians; Redis ${ctx0.redisLabel}.`,
    '',
    '| System | Drain /s | Rounds | Ours ÷ this | Enqueue /s | Cmds/update enqueue (client) | Cmds/update process (client) | Cmds/update total (client) | Redis CPU µs/update (enq + proc) | Worker CPU µs/update | Retained B/update (used_memory; MEMORY USAGE) |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const name of chosen) {
    if (of(name).length === 0) continue;
    const r = med(name, rate);
    const eS = med(name, (s) => sum(s.enqueue.server) / N);
    const eC = med(name, (s) => s.enqueue.client.total / N);
    const pS = med(name, (s) => sum(s.drain.serverCommands) / N);
    const pC = med(name, (s) => s.drain.clientCommands.total / N);
    const cpu = med(name, (s) => ((s.enqueue.redisCpuMs + s.drain.redisCpuMs) * 1000) / N);
    const cpuE = med(name, (s) => (s.enqueue.redisCpuMs * 1000) / N);
    const wcpu = med(name, (s) => (s.drain.workerCpuMs * 1000) / N);
    const ret = med(name, (s) => s.retainedUsed / N);
    const retM = med(name, (s) => s.retained.total / N);
    lines.push(
      `| ${SYSTEMS[name].label} | ${int(r)} | ${rounds(of(name).map(rate))} | ${name === 'ours' ? '—' : ratio(oursRate / r)} | ` +
        `${int(med(name, (s) => (N * 1000) / s.enqueueMs))} | ` +
        `${fixed(eS, 2)} (${fixed(eC, 3)}) | ${fixed(pS, 2)} (${fixed(pC, 3)}) | ${fixed(eS + pS, 2)} (${fixed(eC + pC, 3)}) | ` +
        `${fixed(cpu, 1)} (${fixed(cpuE, 1)} + ${fixed(cpu - cpuE, 1)}) | ${fixed(wcpu, 1)} | ${fixed(ret, 0)}; ${fixed(retM, 0)} |`,
    );
  }
  const last = of('ours').at(-1);
  if (last) {
    const usec = last.drain.serverUsec;
    const cmds = Object.entries(last.drain.serverCommands).sort((a, b) => b[1] - a[1]);
    lines.push(
      '',
      "Ours, process phase, per command as the server counts it (last round; a script's µs include its commands'):",
      '',
      '| Command | Calls / update | µs / update |',
      '|---|---:|---:|',
      ...cmds.map(([c, n]) => `| ${c} | ${fixed(n / N, 3)} | ${fixed((usec[c] ?? 0) / N, 2)} |`),
      '',
      `Sent by the worker (process phase): ${Object.entries(last.drain.clientCommands.byCommand)
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}; scripts: ${Object.entries(last.drain.clientCommands.byScript)
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}.`,
      `Enqueue, server-side: ${Object.entries(last.enqueue.server)
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ${fixed(n / N, 3)}`)
        .join(', ')} per update.`,
      `Retained after the drain (MEMORY USAGE, B/update): ${Object.entries(last.retained.byKind)
        .sort((a, b) => b[1].bytes - a[1].bytes)
        .map(([k, v]) => `${k} ${fixed(v.bytes / N, 0)}`)
        .join(', ')}.`,
    );
  }
  for (const name of chosen.filter((n) => !isOurs(n))) {
    const s = of(name).at(-1);
    if (!s) continue;
    lines.push(
      `${SYSTEMS[name].label}: process per job ${Object.entries(s.drain.serverCommands)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)
        .map(([c, n]) => `${c} ${fixed(n / N, 2)}`)
        .join(', ')}; retained ${Object.entries(s.retained.byKind)
        .sort((a, b) => b[1].bytes - a[1].bytes)
        .map(([k, v]) => `${k} ${fixed(v.bytes / N, 0)}`)
        .join(', ')}.`,
    );
  }
  if (prof) {
    const d = prof.sample.drain;
    const byCall = Object.entries(prof.byCall).sort((a, b) => b[1].us - a[1].us);
    const totalUs = byCall.reduce((a, [, v]) => a + v.us, 0);
    lines.push(
      '',
      `Profile pass (ours, the worker's timed drain CPU-profiled, every command in the slow log): drain ${int((N * 1000) / d.ms)}/s; ` +
        `Redis time per top-level call, from SLOWLOG (execution time only):`,
      '',
      '| Call | Calls | Calls / update | µs / call | µs / update | Share | Slowest (µs) |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...byCall.map(
        ([k, v]) =>
          `| ${k} | ${int(v.calls)} | ${fixed(v.calls / N, 4)} | ${fixed(v.us / v.calls, 0)} | ${fixed(v.us / N, 2)} | ` +
          `${fixed((100 * v.us) / totalUs, 1)}% | ${int(v.max)} |`,
      ),
    );
    const scripts = Object.entries(prof.scripts).sort((a, b) => sum(b[1].commands) - sum(a[1].commands));
    lines.push(
      '',
      'Commands each script ran (MONITOR over the profiled drain), per update:',
      '',
      '| Script | Calls | Commands in Lua / update | Of which |',
      '|---|---:|---:|---|',
      ...scripts.map(
        ([name, v]) =>
          `| ${name} | ${int(v.calls)} | ${fixed(sum(v.commands) / N, 2)} | ${Object.entries(v.commands)
            .sort((a, b) => b[1] - a[1])
            .filter(([, n]) => n / N >= 0.01)
            .map(([c, n]) => `${c} ${fixed(n / N, 2)}`)
            .join(', ')} |`,
      ),
    );
    if (prof.profile) {
      const p = prof.profile;
      lines.push(
        '',
        `Worker CPU profile (the timed drain): ${int(p.busyMs)} ms busy, ${int(p.idleMs)} ms idle. By area:`,
        p.areas
          .slice(0, 12)
          .map((a) => `${a.area} ${fixed(100 * a.share, 1)}%`)
          .join(', '),
        '',
        '| Function | Where | Self ms | Share of busy |',
        '|---|---|---:|---:|',
        ...p.functions
          .slice(0, 30)
          .map((f) => `| ${f.name} | ${f.where} | ${fixed(f.ms, 0)} | ${fixed(100 * f.share, 1)}% |`),
      );
    }
  }
  return lines.join('\n');
}

const ctx0 = {};
async function main() {
  const privateRedis = env.QC_REDIS_URL ? undefined : await startPrivateRedis();
  const redisUrl = env.QC_REDIS_URL ?? privateRedis.url;
  ctx0.redisLabel = privateRedis ? `${redisUrl} (private, started for this run)` : redisUrl;
  installCommandCounter();
  const control = new Redis(redisUrl, { maxRetriesPerRequest: null });
  excludeClient(control);
  const sim = await startSimulatorProcess(simOptions(), {
    portal: TOKEN,
    objectType: OBJECT_TYPE,
    firstId: FIRST_OBJECT_ID,
    count: Math.max(N, WARM_UP),
    properties: { firstname: 'seed' },
  });
  const ctx = { redisUrl, control, connection: bullConnection(redisUrl), sim };
  const samples = [];
  let prof;
  try {
    log(
      `queue cost: ${N} updates, ${ROUNDS} round(s) of ${chosen.join(', ')}; load ${fixed(os.loadavg()[0], 2)}`,
    );
    for (let r = 0; r < ROUNDS; r++) {
      const order = [...chosen.slice(r % chosen.length), ...chosen.slice(0, r % chosen.length)];
      for (const name of order) samples.push(await sample(name, ctx));
    }
    if (PROFILE) {
      log('profile pass');
      prof = await profilePass(ctx);
    }
  } finally {
    await sim.close();
    await control.quit();
    await privateRedis?.close();
  }
  if (env.QC_JSON) writeFileSync(env.QC_JSON, JSON.stringify({ samples, prof }, null, 1));
  process.stdout.write(`${report(samples, prof)}\n`);
}

await main();
