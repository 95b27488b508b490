// Redis-side measurement helpers: key cleanup, memory of a key prefix, command statistics, and a MONITOR-based
// command counter that attributes commands (Lua-internal ones included) to the clients that sent them.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** SCAN + UNLINK every key matching `pattern`; returns how many were removed. */
export async function deleteKeys(redis, pattern) {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

/**
 * Sum of `MEMORY USAGE key SAMPLES 0` (exact, every element counted) over the keys matching `pattern`,
 * grouped by `classify(key)`. Returns `{ total, keys, byKind: { kind: { bytes, keys } } }`.
 */
export async function memoryOf(redis, pattern, classify) {
  let cursor = '0';
  const byKind = {};
  let total = 0;
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const bytes = Number(replies[i]?.[1] ?? 0);
      const kind = classify(key);
      byKind[kind] ??= { bytes: 0, keys: 0 };
      byKind[kind].bytes += bytes;
      byKind[kind].keys += 1;
      total += bytes;
      count += 1;
    });
  } while (cursor !== '0');
  return { total, keys: count, byKind };
}

/** `used_memory` from INFO memory. */
export async function usedMemory(redis) {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

/** CPU time Redis has used (user + system, all threads), in ms, from INFO cpu. */
export async function redisCpuMs(redis) {
  const info = await redis.info('cpu');
  const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/** Calls per command from INFO commandstats, e.g. `{ evalsha: 12, hset: 3400 }`. */
export async function commandStats(redis) {
  const info = await redis.info('commandstats');
  const out = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** Microseconds spent per command from INFO commandstats (a script's time includes its commands'). */
export async function commandTimes(redis) {
  const info = await redis.info('commandstats');
  const out = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=\d+,usec=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

export function commandStatsDelta(before, after) {
  const out = {};
  for (const [cmd, calls] of Object.entries(after)) {
    const d = calls - (before[cmd] ?? 0);
    if (d > 0) out[cmd] = d;
  }
  return out;
}

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);
const MARK = 'queue-cost:phase:';
/** Characters of an EVAL'd script's text that identify it. */
const EVAL_PREFIX = 80;

const resp = (...args) =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`;

/**
 * A raw MONITOR connection calling `onLine(source, command, rest)` for every command Redis executes (`source`:
 * `host:port` of the client, or `lua` for a script's commands; `rest`: the quoted arguments as Redis prints
 * them). A plain socket rather than ioredis, whose monitor mode can take the first monitored line for a reply.
 */
async function openMonitor(redisUrl, onLine) {
  const u = new URL(redisUrl);
  const socket = net.createConnection({ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) });
  socket.setEncoding('utf8');
  let buffer = '';
  let ready;
  let failed;
  const started = new Promise((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  let oks = 0;
  const expectedOks = 1 + (u.password ? 1 : 0) + (u.pathname.length > 1 ? 1 : 0);
  socket.on('error', (err) => failed(err));
  socket.on('data', (chunk) => {
    buffer += chunk;
    let nl = buffer.indexOf('\r\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 2);
      nl = buffer.indexOf('\r\n');
      if (line.startsWith('-')) {
        failed(new Error(`MONITOR: ${line.slice(1)}`));
      } else if (oks < expectedOks) {
        if (line === '+OK' && ++oks === expectedOks) ready();
      } else {
        const open = line.indexOf('[');
        const close = line.indexOf(']', open);
        if (open < 0 || close < 0) continue;
        const where = line.slice(open + 1, close);
        const source = where.slice(where.indexOf(' ') + 1);
        const q1 = line.indexOf('"', close);
        const q2 = line.indexOf('"', q1 + 1);
        onLine(source, line.slice(q1 + 1, q2).toLowerCase(), line.slice(q2 + 1));
      }
    }
  });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  if (u.password)
    socket.write(
      u.username
        ? resp('AUTH', decodeURIComponent(u.username), decodeURIComponent(u.password))
        : resp('AUTH', decodeURIComponent(u.password)),
    );
  if (u.pathname.length > 1) socket.write(resp('SELECT', u.pathname.slice(1)));
  socket.write(resp('MONITOR'));
  try {
    await started;
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return () => socket.destroy();
}

/**
 * Counts every command Redis executes while phases run, from a MONITOR connection. Phases are delimited by
 * `ECHO queue-cost:phase:<name>` sent on `control`, which MONITOR shows in execution order, so each command
 * lands in exactly the phase it ran in. Commands a script runs (shown as source `lua`) are attributed to the
 * client whose EVALSHA precedes them (scripts run atomically). A client counts as the workload's when any of
 * its commands names `tag` (the queue name); everything else is another client of the shared Redis.
 */
export async function startCommandCounter(redisUrl, control, tag) {
  const controlSource = `${control.stream.localAddress}:${control.stream.localPort}`;
  const phases = new Map();
  const ours = new Set();
  let phase = null;
  let owner = null;
  let ownerScript = null;
  let waitingFor = null;

  const bucket = (source) => {
    let bySource = phases.get(phase);
    if (!bySource) {
      bySource = new Map();
      phases.set(phase, bySource);
    }
    let b = bySource.get(source);
    if (!b) {
      b = { top: 0, scripts: 0, lua: 0, byCommand: {}, byScript: {} };
      bySource.set(source, b);
    }
    return b;
  };

  const close = await openMonitor(redisUrl, (source, cmd, rest) => {
    if (source === controlSource) {
      const m = cmd === 'echo' ? /^ "([^"]*)"/.exec(rest) : null;
      if (m?.[1].startsWith(MARK)) {
        phase = m[1].slice(MARK.length);
        if (waitingFor && waitingFor.name === phase) waitingFor.resolve();
      }
      owner = null;
      ownerScript = null;
      return;
    }
    if (phase === null) return;
    if (source === 'lua') {
      if (owner) bucket(owner).lua += 1;
      if (ownerScript) ownerScript.inner += 1;
      return;
    }
    owner = source;
    ownerScript = null;
    const b = bucket(source);
    b.top += 1;
    if (SCRIPT_COMMANDS.has(cmd)) {
      b.scripts += 1;
      // EVALSHA names its script by SHA; EVAL (a script's first call on a connection) by its escaped text.
      const script = cmd.startsWith('evalsha')
        ? (/^ "([^"]*)"/.exec(rest)?.[1] ?? cmd)
        : `eval:${rest.slice(2, 2 + EVAL_PREFIX)}`;
      b.byScript[script] ??= { calls: 0, inner: 0 };
      ownerScript = b.byScript[script];
      ownerScript.calls += 1;
    }
    b.byCommand[cmd] = (b.byCommand[cmd] ?? 0) + 1;
    if (!ours.has(source) && rest.includes(tag)) ours.add(source);
  });

  const mark = async (name) => {
    const seen = new Promise((resolve) => {
      waitingFor = { name, resolve };
    });
    await control.echo(`${MARK}${name}`);
    await seen;
  };

  let stopped = false;
  return {
    /** Starts phase `name` (ends the previous one); resolves once MONITOR has shown everything before it. */
    mark,
    /**
     * Per phase: `{ ours: { top, scripts, lua, total, byCommand, byScript }, others: total commands of other
     * clients }`; `byScript`: per script SHA (or `eval`), `{ calls, inner }` (commands the script ran);
     * `excluded` sources (`host:port`, e.g. a connection that only polled for progress) count as neither.
     */
    async stop(excluded = []) {
      if (stopped) return {};
      stopped = true;
      try {
        await mark('end');
      } finally {
        close();
      }
      const result = {};
      for (const [name, bySource] of phases) {
        if (name === 'end') continue;
        const agg = { top: 0, scripts: 0, lua: 0, total: 0, byCommand: {}, byScript: {} };
        let others = 0;
        for (const [source, b] of bySource) {
          if (excluded.includes(source)) continue;
          if (!ours.has(source)) {
            others += b.top + b.lua;
            continue;
          }
          agg.top += b.top;
          agg.scripts += b.scripts;
          agg.lua += b.lua;
          for (const [c, n] of Object.entries(b.byCommand)) agg.byCommand[c] = (agg.byCommand[c] ?? 0) + n;
          for (const [sha, x] of Object.entries(b.byScript)) {
            agg.byScript[sha] ??= { calls: 0, inner: 0 };
            agg.byScript[sha].calls += x.calls;
            agg.byScript[sha].inner += x.inner;
          }
        }
        agg.total = agg.top + agg.lua;
        result[name] = { ours: agg, others };
      }
      return result;
    },
  };
}

/** BullMQ connection options (host, port, credentials, db) from a redis:// URL. */
export function bullConnection(redisUrl) {
  const u = new URL(redisUrl);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.pathname && u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    maxRetriesPerRequest: null,
  };
}

/**
 * Names of every Lua script under `dir` (recursively) by the keys `startCommandCounter` reports them under:
 * the SHA1 of EVALSHA, and `eval:<start of the script as MONITOR prints it>` of EVAL.
 */
export function scriptNames(dir) {
  const names = {};
  for (const entry of readdirSync(dir, { recursive: true })) {
    const file = String(entry);
    if (!file.endsWith('.lua')) continue;
    const source = readFileSync(path.join(dir, file), 'utf8');
    const name = path.basename(file, '.lua');
    names[createHash('sha1').update(source).digest('hex')] = name;
    // As MONITOR prints an EVAL's script argument.
    const printed = source
      .replaceAll('\\', '\\\\')
      .replaceAll('"', '\\"')
      .replaceAll('\n', '\\n')
      .replaceAll('\r', '\\r')
      .replaceAll('\t', '\\t');
    names[`eval:${printed.slice(0, EVAL_PREFIX)}`] = name;
  }
  return names;
}
