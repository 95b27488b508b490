import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { onCleanup, track } from './resources.js';
import { freePort } from './tools.js';

const run = promisify(execFile);

async function ping(port: number): Promise<boolean> {
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
 * Starts a local Redis Cluster of three masters (no replicas) from the machine's redis-server, on free ports of
 * 127.0.0.1, torn down after the test. Returns the seed URL in the project's `redis+cluster://` form.
 */
export async function startLocalCluster(): Promise<{ url: string; ports: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'hbq-cluster-'));
  // Cluster nodes also use port + 10000 for their bus, so pick ports whose bus port is free too.
  const ports: number[] = [];
  while (ports.length < 3) {
    const p = await freePort();
    if (p < 55_000 && !ports.includes(p)) ports.push(p);
  }
  const children: ChildProcess[] = ports.map((port) =>
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
        '2000',
      ],
      { stdio: 'ignore' },
    ),
  );
  const done = track('redis cluster');
  onCleanup(async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
    done();
  });
  for (const port of ports) {
    for (let i = 0; !(await ping(port)); i++) {
      if (i > 100) throw new Error(`cluster node ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
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
  // Wait until every node agrees the cluster is up.
  for (const port of ports) {
    for (let i = 0; ; i++) {
      const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
      if (stdout.includes('cluster_state:ok')) break;
      if (i > 200) throw new Error('cluster did not reach state ok');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url: `redis+cluster://127.0.0.1:${ports[0]}`, ports };
}
