// Runs one drain in a child process (drain-child.mjs) and reports its figures, or the crash that ended it.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./drain-child.mjs', import.meta.url));
const live = new Set();

process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The first `SomethingError: message` line of a crash's stderr (the uncaught exception), else its tail. */
function firstError(stderr) {
  const line = stderr.split('\n').find((l) => /^\w*Error: /.test(l.trim()));
  return (line ?? stderr.trim().split('\n').slice(-3).join(' | ')).trim();
}

/**
 * Resolves to `{ ok: true, result, probe, lines }` or `{ ok: false, error, lines }` (`error`: the child's exit
 * and the last lines it wrote to stderr; `lines`: the first lines it wrote to stderr, i.e. worker warnings).
 * `onTimed()` runs when the timed drain starts, `onResult(result)` when its figures arrive. `params`: see drain-child.mjs;
 * `execArgv`: Node flags of the child; `env`: variables added to its environment (e.g. `QC_DIST`).
 */
export function runDrainProcess(params, { onTimed, onResult, timeoutMs = 180_000, execArgv, env } = {}) {
  const child = fork(CHILD, [JSON.stringify(params)], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    ...(execArgv ? { execArgv } : {}),
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  live.add(child);
  let stderr = '';
  const lines = [];
  child.stderr.on('data', (chunk) => {
    const text = chunk.toString('utf8');
    stderr = (stderr + text).slice(-4000);
    for (const line of text.split('\n'))
      if (line.trim() !== '' && lines.length < 50) lines.push(line.slice(0, 400));
  });
  return new Promise((resolve) => {
    let message;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('message', (m) => {
      if (m?.timed) {
        onTimed?.();
        return;
      }
      onResult?.(m.result);
      message = m;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      if (message && code === 0) resolve({ ok: true, lines, ...message });
      else
        resolve({
          ok: false,
          error: `drain process exited (${code ?? signal})${message ? ' after reporting' : ''}: ${firstError(stderr)}`,
          lines,
          ...(message ?? {}),
        });
    });
  });
}

const WORKER_CHILD = fileURLToPath(new URL('./worker-child.mjs', import.meta.url));

/**
 * Starts our worker (production defaults) in a child process (worker-child.mjs). Resolves once it runs, to
 * `{ exited(), lines, close() }`; `exited()` is the exit code or signal if it ended on its own, else null.
 */
export async function startWorkerProcess(params) {
  const child = fork(WORKER_CHILD, [JSON.stringify(params)], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  live.add(child);
  const lines = [];
  child.stderr.on('data', (chunk) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim() !== '' && lines.length < 50) lines.push(line.slice(0, 400));
  });
  let exitedWith = null;
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      exitedWith = code ?? signal;
      resolve();
    }),
  );
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    exited.then(() => reject(new Error(`worker process exited early (${exitedWith}): ${lines.join(' | ')}`)));
  });
  let closing = false;
  return {
    lines,
    exited: () => (closing ? null : exitedWith),
    async close() {
      closing = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 35_000);
      child.send('close');
      await exited;
      clearTimeout(timer);
    },
  };
}
