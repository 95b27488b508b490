import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './pipeline.js';
import { onCleanup, track } from './resources.js';
import { freePort } from './tools.js';

/**
 * A redis-server of the test's own, with AOF in a temp dir, that can be restarted on the same data, staying
 * down `downMs` in between.
 */
export async function privateRedis(): Promise<{
  url: string;
  restart(options?: { downMs?: number }): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'hbq-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
    probe.on('error', () => {});
    await probe.connect().catch(() => {});
    await waitFor(async () => (await probe.ping().catch(() => '')) === 'PONG', {
      what: 'redis-server to start',
    });
    probe.disconnect();
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    // No reconnecting: a reconnecting client holds the unanswered SHUTDOWN to send it again and gives up only after
    // 20 attempts (about 10 s, which made every restart an outage of that length); this one ends with the server.
    const admin = new Redis(url, { retryStrategy: () => null, maxRetriesPerRequest: 0 });
    admin.on('error', () => {});
    // SHUTDOWN flushes the AOF, as a clean restart does; the connection drops as the server exits.
    await admin.call('SHUTDOWN').catch(() => {});
    await exited;
    // disconnect() on a connection that already dropped would only arm ioredis's 2 s timer for a socket that
    // is gone, keeping the process busy for nothing.
    if (admin.status !== 'end') admin.disconnect();
  };
  await start();
  const done = track('redis-server');
  onCleanup(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    done();
  });
  return {
    url,
    restart: async ({ downMs = 0 } = {}) => {
      await stop();
      // The outage itself is the stimulus here, not a wait for something to happen.
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
  };
}
