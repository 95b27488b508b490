// A Redis server of the benchmark's own (no persistence), so the server-wide figures (INFO commandstats, cpu,
// used_memory) are the workload's alone, not those of whatever else shares the machine's Redis.
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts `redis-server` on `port` (default: a free-looking one); resolves to `{ url, close() }`. */
export async function startPrivateRedis(port = 20000 + Math.floor(Math.random() * 20000)) {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  process.once('exit', () => child.kill('SIGKILL'));
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch (err) {
      probe.disconnect();
      if (i > 50 || child.exitCode !== null) throw new Error(`redis-server on ${port} did not start: ${err}`);
      await sleep(100);
    }
  }
  return {
    url,
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
