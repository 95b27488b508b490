import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'vitest';

/** The path of a program on PATH, or undefined. */
export function which(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() || undefined : undefined;
}

/**
 * `describe` for tests that need external programs (e.g. `{ promtool: 'apt-get install prometheus' }`).
 * When one is missing: in CI (CI=true, where .ci/run installs them) the block fails, so a lost install step
 * cannot pass as green; elsewhere it is skipped with the install hint in its name and on stderr.
 */
export function describeWithPrograms(name: string, programs: Record<string, string>, fn: () => void): void {
  const missing = Object.entries(programs).filter(([command]) => !which(command));
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  const reason = missing.map(([command, install]) => `${command} not found (${install})`).join('; ');
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('has the programs it needs', () => {
        throw new Error(`${reason}: .ci/run should have installed them`);
      });
    });
    return;
  }
  process.stderr.write(`skipping "${name}": ${reason}\n`);
  describe.skip(`${name} (skipped: ${reason})`, fn);
}

/** A TCP port on 127.0.0.1 that was free a moment ago, for programs that cannot report the port they bound. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
