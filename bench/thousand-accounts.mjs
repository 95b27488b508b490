// A thousand accounts (issue 16): one worker with default settings drains 1,000 accounts x 3 object types x 20
// updates each, against the same 60,000 updates in one account (3 types x 20,000), on a private redis-server, so
// Redis's CPU and command counts are the drain's alone. Per run: drain time, Redis CPU and commands per update
// (INFO cpu and INFO commandstats over the drain, Lua-internal commands included), and how long after the worker
// started each account got its first outcome. Budgets are high enough never to bind: this measures the queue.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createProducer, createQueueAdmin, queueKeys } from '../dist/index.js';
import { startPrivateRedis } from './queue-cost/private-redis.mjs';
import { commandStats, commandStatsDelta, redisCpuMs } from './queue-cost/redis-util.mjs';
import { monitorScripts } from './queue-cost/script-commands.mjs';
import { startReplicas } from './rate-limit/replicas.mjs';
import { startSimulatorProcess } from './rate-limit/simulator.mjs';

const TYPES = [
  ['contacts', 'firstname'],
  ['companies', 'name'],
  ['deals', 'dealname'],
];
const LINGER_MS = 250;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fixed = (x, d = 1) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const int = (x) => Math.round(x).toLocaleString('en-US');

/** Every account's updates interleaved, as many producers enqueueing at once would leave them. */
function updatesFor(accounts, perGroup) {
  const out = [];
  for (let i = 0; i < perGroup; i++)
    for (let a = 0; a < accounts; a++)
      for (const [objectType, property] of TYPES)
        out.push({
          account: `a${a}`,
          objectType,
          id: String(1_000_000 + i),
          properties: { [property]: `v${i}` },
        });
  return out;
}

export async function runOnce({ accounts, perGroup, log }) {
  const redis = await startPrivateRedis();
  const control = new Redis(redis.url, { maxRetriesPerRequest: null });
  const sim = await startSimulatorProcess(
    {
      portals: Object.fromEntries(
        Array.from({ length: accounts }, (_, a) => [
          `t${a}`,
          { portalId: `p${a}`, maxRequests: 1e6, windowMs: 10_000 },
        ]),
      ),
      acceptAnyToken: false,
      latencyMs: 20,
      autoCreate: true,
      callLogLimit: 1000,
    },
    -10,
  );
  const queueName = `bench-ka-${randomUUID().slice(0, 8)}`;
  const producer = createProducer({ redis: redis.url, queueName });
  let workers;
  try {
    const updates = updatesFor(accounts, perGroup);
    const ids = [];
    // The enqueue is counted too: this producer files each update where it goes (what ingest did in the drain).
    const [enqCpu0, enqCmd0] = [await redisCpuMs(control), await commandStats(control)];
    for (let i = 0; i < updates.length; i += 5000)
      for (const r of await producer.enqueueMany(updates.slice(i, i + 5000))) ids.push(r.objectWriteTraceId);
    const enqueueCpuMs = (await redisCpuMs(control)) - enqCpu0;
    const enqueueCommands = Object.values(commandStatsDelta(enqCmd0, await commandStats(control))).reduce(
      (a, b) => a + b,
      0,
    );
    // KA_MONITOR=1: which scripts ran how often and what they ran (MONITOR slows Redis: figures then are not timed).
    const monitor = process.env.KA_MONITOR === '1' ? await monitorScripts(redis.url) : undefined;
    const cpu0 = await redisCpuMs(control);
    const cmd0 = await commandStats(control);
    const started = Date.now();
    workers = startReplicas(1, {
      REDIS_URL: redis.url,
      QUEUE_NAME: queueName,
      HUBSPOT_BASE_URL: sim.url,
      HUBSPOT_ACCOUNTS: JSON.stringify(
        Object.fromEntries(Array.from({ length: accounts }, (_, a) => [`a${a}`, `t${a}`])),
      ),
      RATE_LIMIT_MAX: '1000000',
      RATE_LIMIT_WINDOW_MS: '10000',
      BATCH_LINGER_MS: String(LINGER_MS),
    });
    const stats = queueKeys(queueName).stats;
    // `status` as an operator runs it mid-drain, once a third of the updates are settled: every group and
    // account of the queue is then in Redis.
    const admin = createQueueAdmin({
      redis: control,
      queueName,
      accounts: Object.fromEntries(
        Array.from({ length: accounts }, (_, a) => [`a${a}`, { maxRequests: 1e6, windowMs: 10_000 }]),
      ),
    });
    let statusMs;
    let statusCommands = 0;
    let statusCpuMs = 0;
    for (;;) {
      const s = await control.hgetall(stats);
      const settled = ['succeeded', 'failed', 'superseded'].reduce((n, k) => n + Number(s[k] ?? 0), 0);
      if (settled >= ids.length) break;
      if (statusMs === undefined && settled >= ids.length / 3) {
        const [c0, u0] = [await commandStats(control), await redisCpuMs(control)];
        const t0 = performance.now();
        await admin.status();
        statusMs = performance.now() - t0;
        // The drain's figures leave the status read out.
        const [c1, u1] = [await commandStats(control), await redisCpuMs(control)];
        statusCommands = Object.values(commandStatsDelta(c0, c1)).reduce((a, b) => a + b, 0);
        statusCpuMs = u1 - u0;
      }
      if (Date.now() - started > 600_000 || workers.exited() > 0)
        throw new Error(`drain stopped at ${settled}`);
      await sleep(50);
    }
    const drainMs = Date.now() - started;
    if (monitor) {
      for (const [sha, v] of Object.entries(await monitor.stop())) {
        const total = Object.values(v.commands).reduce((a, b) => a + b, 0);
        const top = Object.entries(v.commands)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6)
          .map(([c, n]) => `${c} ${n}`)
          .join(', ');
        log(`    script ${sha}: ${v.calls} calls, ${total} commands inside (${top})`);
      }
    }
    const cpuMs = (await redisCpuMs(control)) - cpu0 - statusCpuMs;
    const commands =
      Object.values(commandStatsDelta(cmd0, await commandStats(control))).reduce((a, b) => a + b, 0) -
      statusCommands;
    const outcomes = [];
    for (let i = 0; i < ids.length; i += 5000)
      outcomes.push(...(await producer.getOutcomes(ids.slice(i, i + 5000))));
    const firstByAccount = new Map();
    let terminal = 0;
    for (const o of outcomes) {
      if (!o || !['succeeded', 'failed', 'superseded'].includes(o.status)) continue;
      terminal++;
      const t = o.finishedAt ?? Number.POSITIVE_INFINITY;
      if (t < (firstByAccount.get(o.account) ?? Number.POSITIVE_INFINITY)) firstByAccount.set(o.account, t);
    }
    const firsts = [...firstByAccount.values()].map((t) => t - started).sort((a, b) => a - b);
    const r = {
      accounts,
      groups: accounts * TYPES.length,
      updates: ids.length,
      terminal,
      drainMs,
      redisCpuUsPerUpdate: (cpuMs * 1000) / ids.length,
      commandsPerUpdate: commands / ids.length,
      enqueueCpuUsPerUpdate: (enqueueCpuMs * 1000) / ids.length,
      enqueueCommandsPerUpdate: enqueueCommands / ids.length,
      totalCpuUsPerUpdate: ((cpuMs + enqueueCpuMs) * 1000) / ids.length,
      firstOutcomeP50Ms: firsts[Math.floor(firsts.length / 2)] ?? Number.NaN,
      firstOutcomeMaxMs: firsts.at(-1) ?? Number.NaN,
      statusMs: statusMs ?? Number.NaN,
    };
    log(
      `  ${accounts} account(s) x 3 types: ${r.terminal}/${r.updates} terminal in ${int(drainMs)} ms, Redis CPU ` +
        `${fixed(r.redisCpuUsPerUpdate)} µs/update (with the enqueue ${fixed(r.totalCpuUsPerUpdate)}), ` +
        `${fixed(r.commandsPerUpdate, 2)} commands/update (enqueue ${fixed(r.enqueueCommandsPerUpdate, 2)}), first outcome ` +
        `per account p50 ${int(r.firstOutcomeP50Ms)} ms, latest ${int(r.firstOutcomeMaxMs)} ms, status ${int(r.statusMs)} ms`,
    );
    return r;
  } finally {
    if (workers) await workers.stop(10_000);
    await producer.close();
    await sim.close();
    await createQueueAdmin({ redis: control, queueName })
      .obliterate({ force: true })
      .catch(() => {});
    await control.quit();
    await redis.close();
  }
}

export async function run({ log }) {
  const one = await runOnce({ accounts: 1, perGroup: 20_000, log });
  const many = await runOnce({ accounts: 1000, perGroup: 20, log });
  // Enqueue and drain together: the producer files the updates, which a worker's ingest did before.
  const ratio = many.totalCpuUsPerUpdate / one.totalCpuUsPerUpdate;
  const row = (label, r) =>
    `| ${label} | ${int(r.groups)} | ${int(r.updates)} | ${int(r.terminal)} | ${fixed(r.drainMs / 1000)} s | ` +
    `${fixed(r.enqueueCpuUsPerUpdate)} + ${fixed(r.redisCpuUsPerUpdate)} = ${fixed(r.totalCpuUsPerUpdate)} | ` +
    `${fixed(r.enqueueCommandsPerUpdate, 2)} + ${fixed(r.commandsPerUpdate, 2)} | ${int(r.firstOutcomeP50Ms)} / ${int(r.firstOutcomeMaxMs)} ms | ${int(r.statusMs)} ms |`;
  return [
    '## A thousand accounts (issue 16)',
    '',
    `One worker process with default settings (linger ${LINGER_MS} ms), a private redis-server, the simulator at 20 ms ` +
      'per call with budgets that never bind; the updates (to distinct records of three object types) are enqueued ' +
      'before the worker starts, every account’s interleaved with the others’. Redis CPU (INFO cpu) and commands ' +
      '(INFO commandstats, Lua-internal ones included) are counted over the enqueue and over the drain (the producer ' +
      'files each update where it goes, so the enqueue does what ingest did in the drain); the first outcome of an ' +
      'account is its earliest `finishedAt` after the worker started. `status` is timed once, from another connection, ' +
      'when a third of the updates had settled.',
    '',
    '| Run | Groups | Updates | Terminal | Drain | Redis CPU µs / update, enqueue + drain | Redis commands / update, enqueue + drain | First outcome per account, p50 / latest | `status` mid-drain |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    row('1 account x 3 types x 20,000', one),
    row('1,000 accounts x 3 types x 20', many),
    '',
    '| Criterion | Measured | Result |',
    '|---|---|---|',
    `| Every update terminal | ${int(many.terminal)} of ${int(many.updates)} | ${many.terminal === many.updates ? '**pass**' : '**FAIL**'} |`,
    `| Redis CPU per update (enqueue and drain) within 20% of one account's | ${fixed(many.totalCpuUsPerUpdate)} vs ${fixed(one.totalCpuUsPerUpdate)} µs (${fixed(ratio, 2)}×; the drain alone ${fixed(many.redisCpuUsPerUpdate / one.redisCpuUsPerUpdate, 2)}×) | ${ratio <= 1.2 ? '**pass**' : '**FAIL**'} |`,
    `| No account's first outcome later than linger + one pass (taken as linger + 1 s) | latest ${int(many.firstOutcomeMaxMs)} ms after start (p50 ${int(many.firstOutcomeP50Ms)} ms), of a ${fixed(many.drainMs / 1000)}-s drain: 3,000 groups each hold a partial batch, and their batches go out as fast as the worker claims and settles them (a batch of 20 costs the fixed part of a claim and a settle) | ${many.firstOutcomeMaxMs <= LINGER_MS + 1000 ? '**pass**' : '**FAIL**'} |`,
  ].join('\n');
}
