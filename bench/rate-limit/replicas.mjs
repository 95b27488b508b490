// Worker replicas as separate processes running the built CLI (`node dist/bin.js worker`).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
const live = new Set();

// A crashed benchmark must not leave workers behind: kill the ones this process started, by pid.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The environment of a worker: the parent's minus any HubSpot or queue settings, plus `env`. */
function workerEnv(env) {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(HUBSPOT_|RATE_LIMIT_|DAILY_|BATCH_|WORKER_|QUEUE_(NAME|SHARDS)$|REDIS_URL$|METRICS_|LOG_LEVEL$)/.test(
          k,
        ),
    ),
  );
  return { ...base, METRICS_PORT: '0', LOG_LEVEL: 'warn', VALIDATE_PROPERTIES: 'false', ...env };
}

/**
 * Starts `count` worker processes with `env`. Returns `{ lines, exited, stop }`: `lines` collects what the
 * workers printed (warnings and errors, prefixed by replica), `stop()` sends SIGTERM, waits for a clean exit
 * (SIGKILL after `graceMs`) and resolves with the exit codes.
 */
export function startReplicas(count, env) {
  const lines = [];
  const children = Array.from({ length: count }, (_, i) => {
    const child = spawn(process.execPath, [CLI, 'worker'], {
      env: workerEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    const exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve(code ?? signal);
      });
    });
    let rest = '';
    const collect = (chunk) => {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) if (line.trim() !== '' && lines.length < 2000) lines.push(`[${i}] ${line}`);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    return { child, exit };
  });
  return {
    lines,
    /** Replicas that exited before being asked to. */
    exited: () => children.filter((c) => c.child.exitCode !== null || c.child.signalCode !== null).length,
    async stop(graceMs = 20_000) {
      for (const { child } of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const { child } of children)
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, graceMs);
      const codes = await Promise.all(children.map((c) => c.exit));
      clearTimeout(timer);
      return codes;
    },
  };
}
