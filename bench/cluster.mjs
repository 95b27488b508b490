// More than one Redis (issue 16): a local 3-master Redis Cluster, 300 accounts x 3 object types, two worker
// replicas with QUEUE_SHARDS = 1, 3, 6 and 12. Per run: each master's share of the queue's Redis commands (INFO
// commandstats on each master over enqueue and drain, Lua-internal commands included, the cluster's own
// bookkeeping left out) and of Redis CPU, the drain time, and whether every update ended truthfully: every
// outcome terminal, none failed, and every record at HubSpot holding the value enqueued last.
import { randomUUID } from 'node:crypto';
import { createProducer, createQueueAdmin } from '../dist/index.js';
import { startLocalCluster } from './queue-cost/local-cluster.mjs';
import { commandStats, commandStatsDelta, redisCpuMs } from './queue-cost/redis-util.mjs';
import { startReplicas } from './rate-limit/replicas.mjs';
import { startSimulatorProcess } from './rate-limit/simulator.mjs';

const ACCOUNTS = 300;
const TYPES = [
  ['contacts', 'firstname'],
  ['companies', 'name'],
  ['deals', 'dealname'],
];
const OBJECTS = 10;
const REPLICAS = 2;
const SHARD_COUNTS = [1, 3, 6, 12];
const BOOKKEEPING = /^(cluster|info|config|command|ping|hello|client|select|readonly|asking)/;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (x) => `${(x * 100).toFixed(1)}%`;
const int = (x) => Math.round(x).toLocaleString('en-US');

/** Two updates per record (first, then last), every account's interleaved with the others'. */
function updates() {
  const out = [];
  for (const round of ['first', 'last'])
    for (let o = 0; o < OBJECTS; o++)
      for (let a = 0; a < ACCOUNTS; a++)
        for (const [objectType, property] of TYPES)
          out.push({
            account: `a${a}`,
            objectType,
            id: String(1_000_000 + o),
            properties: { [property]: `${round}-${a}-${o}` },
          });
  return out;
}

async function queueCommands(node, before) {
  const delta = commandStatsDelta(before, await commandStats(node));
  return Object.entries(delta)
    .filter(([cmd]) => !BOOKKEEPING.test(cmd))
    .reduce((n, [, calls]) => n + calls, 0);
}

async function stale(simUrl) {
  let wrong = 0;
  for (let a = 0; a < ACCOUNTS; a++) {
    for (const [objectType, property] of TYPES) {
      const res = await fetch(`${simUrl}/_sim/objects/p${a}/${objectType}`);
      const list = await res.json();
      const byId = new Map((Array.isArray(list) ? list : (list.results ?? [])).map((o) => [o.id, o]));
      for (let o = 0; o < OBJECTS; o++) {
        const value = byId.get(String(1_000_000 + o))?.properties?.[property];
        if (value !== `last-${a}-${o}`) wrong++;
      }
    }
  }
  return wrong;
}

async function runOnce(cluster, shards, log) {
  const sim = await startSimulatorProcess({
    portals: Object.fromEntries(
      Array.from({ length: ACCOUNTS }, (_, a) => [
        `t${a}`,
        { portalId: `p${a}`, maxRequests: 1e6, windowMs: 10_000 },
      ]),
    ),
    acceptAnyToken: false,
    latencyMs: 20,
    autoCreate: true,
    callLogLimit: 1000,
  });
  const queueName = `bench-cl-${randomUUID().slice(0, 8)}`;
  const producer = createProducer({ redis: cluster.url, queueName, shards });
  let workers;
  try {
    const before = await Promise.all(cluster.nodes.map(commandStats));
    const cpu0 = await Promise.all(cluster.nodes.map(redisCpuMs));
    const all = updates();
    const ids = [];
    for (let i = 0; i < all.length; i += 5000)
      for (const r of await producer.enqueueMany(all.slice(i, i + 5000))) ids.push(r.objectWriteTraceId);
    const started = Date.now();
    workers = startReplicas(REPLICAS, {
      REDIS_URL: cluster.url,
      QUEUE_NAME: queueName,
      QUEUE_SHARDS: String(shards),
      HUBSPOT_BASE_URL: sim.url,
      HUBSPOT_ACCOUNTS: JSON.stringify(
        Object.fromEntries(Array.from({ length: ACCOUNTS }, (_, a) => [`a${a}`, `t${a}`])),
      ),
      RATE_LIMIT_MAX: '1000000',
      RATE_LIMIT_WINDOW_MS: '10000',
    });
    const admin = createQueueAdmin({ redis: cluster.url, queueName, shards });
    try {
      for (;;) {
        const s = await admin.status();
        const settled = s.outcomes.succeeded + s.outcomes.failed + s.outcomes.superseded;
        if (settled >= ids.length) break;
        if (Date.now() - started > 600_000 || workers.exited() > 0)
          throw new Error(`drain stopped at ${settled}`);
        await sleep(200);
      }
    } finally {
      await admin.close();
    }
    const drainMs = Date.now() - started;
    const perMaster = await Promise.all(cluster.nodes.map((n, i) => queueCommands(n, before[i])));
    const cpu = await Promise.all(cluster.nodes.map(async (n, i) => (await redisCpuMs(n)) - (cpu0[i] ?? 0)));
    const outcomes = [];
    for (let i = 0; i < ids.length; i += 5000)
      outcomes.push(...(await producer.getOutcomes(ids.slice(i, i + 5000))));
    const terminal = outcomes.filter(
      (o) => o && ['succeeded', 'failed', 'superseded'].includes(o.status),
    ).length;
    const failed = outcomes.filter((o) => o?.status === 'failed').length;
    const lastFailed = outcomes.slice(all.length / 2).filter((o) => o?.status !== 'succeeded').length;
    const total = perMaster.reduce((a, b) => a + b, 0);
    const cpuTotal = cpu.reduce((a, b) => a + b, 0);
    const r = {
      shards,
      updates: ids.length,
      terminal,
      failed,
      lastFailed,
      stale: await stale(sim.url),
      drainMs,
      shares: perMaster.map((n) => n / total),
      cpuShares: cpu.map((c) => c / cpuTotal),
      commandsPerUpdate: total / ids.length,
    };
    log(
      `  ${shards} shard(s): ${r.terminal}/${r.updates} terminal, ${r.failed} failed, ${r.stale} stale, drain ` +
        `${int(drainMs)} ms; commands per master ${r.shares.map(pct).join(' / ')}, CPU ${r.cpuShares.map(pct).join(' / ')}`,
    );
    return r;
  } finally {
    if (workers) await workers.stop(10_000);
    await producer.close();
    await sim.close();
    // The admin that clears the queue is closed too: an open cluster client reconnects for ever to the masters
    // stopped after the last run, and kept the benchmark from exiting.
    const cleanup = createQueueAdmin({ redis: cluster.url, queueName, shards });
    await cleanup.obliterate({ force: true }).catch(() => {});
    await cleanup.close();
  }
}

export async function run({ log }) {
  const cluster = await startLocalCluster();
  const rows = [];
  try {
    for (const shards of SHARD_COUNTS) rows.push(await runOnce(cluster, shards, log));
  } finally {
    await cluster.close();
  }
  const ok = (r) => r.terminal === r.updates && r.failed === 0 && r.stale === 0;
  const spread = (r) => r.shares.every((s) => s >= 0.2 && s <= 0.47);
  const row = (r) =>
    `| ${r.shards} | ${int(r.updates)} | ${int(r.terminal)} | ${r.failed} | ${r.stale} | ${(r.drainMs / 1000).toFixed(1)} s | ` +
    `${r.shares.map(pct).join(' / ')} | ${r.cpuShares.map(pct).join(' / ')} | ${r.commandsPerUpdate.toFixed(2)} | ` +
    `${ok(r) && spread(r) ? '**pass**' : r.shards === 1 ? 'baseline' : '**FAIL**'} |`;
  return [
    '## More than one Redis (issue 16)',
    '',
    `A local Redis Cluster of three masters (redis-server, \`redis-cli --cluster create\`, equal slot ranges) on this ` +
      `machine; ${ACCOUNTS} accounts x ${TYPES.length} object types x ${OBJECTS} records, two updates per record ` +
      `(${int(ACCOUNTS * TYPES.length * OBJECTS * 2)} updates, enqueued before the workers start), ${REPLICAS} worker ` +
      'replicas, the simulator at 20 ms per call with budgets that never bind. Commands are counted on each master ' +
      '(INFO commandstats, Lua-internal ones included, the cluster client’s own CLUSTER/INFO calls left out) over ' +
      'enqueue and drain. Truthful: every outcome terminal, none failed, and every record at the simulator holding ' +
      'the value enqueued last (stale counts the records that do not). QUEUE_SHARDS=1 is the layout before shards: ' +
      'the whole queue on one master.',
    '',
    '| QUEUE_SHARDS | Updates | Terminal | Failed | Stale records | Drain | Commands per master | Redis CPU per master | Commands / update | 20-47% per master, truthful |',
    '|---:|---:|---:|---:|---:|---:|---|---|---:|---|',
    ...rows.map(row),
  ].join('\n');
}
