// Which commands each Lua script runs: a `redis-cli monitor` process over a phase, its lines grouped by the
// EVALSHA/EVAL that ran them (a script runs atomically, so its commands follow its call in the stream).
import { spawn } from 'node:child_process';

/** Starts monitoring; `reset()` forgets what was seen; `stop(scriptNames)` resolves to `{ script: { calls, commands: { cmd: count } } }`. */
export async function monitorScripts(redisUrl) {
  const mon = spawn('redis-cli', ['-u', redisUrl, 'monitor'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const per = {};
  let current = null;
  let buffer = '';
  const onLine = (line) => {
    const m = /\[\d+ ([^\]]+)\] "([^"]+)"(?: "([^"]*)")?/.exec(line);
    if (!m) return;
    const cmd = m[2].toLowerCase();
    if (m[1] === 'lua') {
      if (current) current.commands[cmd] = (current.commands[cmd] ?? 0) + 1;
      return;
    }
    current = null;
    if (cmd !== 'evalsha' && cmd !== 'eval') return;
    const name = cmd === 'evalsha' ? m[3] : 'eval (first call on a connection)';
    per[name] ??= { calls: 0, commands: {} };
    current = per[name];
    current.calls += 1;
  };
  mon.stdout.setEncoding('utf8');
  mon.stdout.on('data', (chunk) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  await new Promise((r) => setTimeout(r, 300));
  return {
    /** Forgets what was seen so far (e.g. a warm-up). */
    reset() {
      for (const k of Object.keys(per)) delete per[k];
      current = null;
    },
    async stop(names = {}) {
      await new Promise((r) => setTimeout(r, 200));
      mon.kill();
      const out = {};
      for (const [sha, v] of Object.entries(per)) out[names[sha] ?? sha.slice(0, 8)] = v;
      return out;
    },
  };
}
