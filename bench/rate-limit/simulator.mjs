// Starts the simulator in a child process (see sim-child.mjs) and talks to it over IPC.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./sim-child.mjs', import.meta.url));

/**
 * Resolves to `{ url, priority, startOutsideClient, stopOutsideClients, results, close }`. `priority` is the nice
 * value the child got: `niceness` when the system allowed raising it, else 0.
 */
export async function startSimulatorProcess(options, niceness = 0) {
  const child = fork(CHILD, [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let priority = 0;
  if (niceness !== 0) {
    try {
      os.setPriority(child.pid, niceness);
      priority = niceness;
    } catch {
      // Not permitted: run at the default priority and say so.
    }
  }
  const ask = (message, answer) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`the simulator did not answer ${message.type}`));
      }, 30_000);
      function onMessage(m) {
        if (m?.type !== answer) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(m);
      }
      child.on('message', onMessage);
      child.send(message);
    });
  const [ready] = await once(child, 'message');
  return {
    url: ready.url,
    priority,
    startOutsideClient: (token, callsPerSecond) =>
      ask({ type: 'outside', token, callsPerSecond }, 'outside-started'),
    stopOutsideClients: () => ask({ type: 'stop-outside' }, 'outside-stopped'),
    results: () => ask({ type: 'results' }, 'results'),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.send({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      process.off('exit', killOnExit);
    },
  };
}
