// Starts and stops the simulator child process (sim-child.mjs).
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./sim-child.mjs', import.meta.url));
const live = new Set();

// A crashed benchmark must not leave a simulator behind: kill the ones this process started, by pid.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** utime + stime of a process in ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/**
 * Starts a simulator with `options` (see src/simulator/options.ts), pre-creating the objects of `seed`
 * (`{ portal, objectType, firstId, count, properties }`: ids firstId, firstId + 1, ...). Resolves to `{ url, cpuMs(), close() }`.
 */
export async function startSimulatorProcess(options, seed) {
  const child = fork(CHILD, [JSON.stringify({ options, seed })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  exited.then(() => live.delete(child));
  const url = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`simulator process exited early (${code})`)));
  });
  return {
    url,
    /** CPU time the simulator process has used, in ms (Linux /proc; NaN elsewhere). */
    cpuMs: () => processCpuMs(child.pid),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.send('close');
      await exited;
      clearTimeout(timer);
    },
  };
}
