// A local Redis Cluster of three masters (no replicas) from the machine's redis-server, for benchmarks: each
// node's own INFO tells how much of the work it did.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function ping(port) {
  const r = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * Starts three cluster-enabled redis-servers on `basePort`.. (their bus ports are +10000) and joins them into one
 * cluster with equal slot ranges. Resolves to `{ url, ports, nodes: [Redis], close() }`; `url` is the seed in
 * the project's `redis+cluster://` form, `nodes` direct connections to each master.
 */
export async function startLocalCluster(basePort = 30000 + Math.floor(Math.random() * 20000)) {
  const dir = mkdtempSync(join(tmpdir(), 'hbq-bench-cluster-'));
  const ports = [basePort, basePort + 1, basePort + 2];
  const children = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-node-timeout',
        '5000',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    ),
  );
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
  for (const port of ports) {
    for (let i = 0; !(await ping(port)); i++) {
      if (i > 100) throw new Error(`cluster node ${port} did not start`);
      await sleep(50);
    }
  }
  await run('redis-cli', [
    '--cluster',
    'create',
    ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  for (const port of ports) {
    for (let i = 0; ; i++) {
      const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
      if (stdout.includes('cluster_state:ok')) break;
      if (i > 200) throw new Error('cluster did not reach state ok');
      await sleep(50);
    }
  }
  const nodes = ports.map((port) => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null }));
  return {
    url: `redis+cluster://127.0.0.1:${ports[0]}`,
    ports,
    nodes,
    async close() {
      for (const n of nodes) n.disconnect();
      await Promise.all(
        children.map(
          (c) =>
            new Promise((resolve) => {
              if (c.exitCode !== null) return resolve();
              c.once('exit', resolve);
              c.kill('SIGTERM');
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
