// Counts the Redis commands this process's ioredis clients send (calls from the client, before any Lua runs),
// by command name and, for EVALSHA/EVAL, by script name. Lua-internal commands are what the server counts
// (INFO commandstats) minus these.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

const byCommand = {};
const byScript = {};
/** What excluded clients sent, so it can be taken off the server's figures. */
const excludedByCommand = {};
/** Script SHA1 -> name given to `defineCommand` (ours: `hbq_<name>`; BullMQ's: its command names). */
const scriptNames = {};
const excluded = new WeakSet();
let installed = false;

/** Patches ioredis once; every command sent from then on is tallied unless its client is excluded. */
export function installCommandCounter() {
  if (installed) return;
  installed = true;
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function countedSend(command, stream) {
    // The offline queue re-sends queued commands through here once connected: count them only then.
    if (this.status === 'ready' && excluded.has(this)) {
      const name = String(command.name).toLowerCase();
      excludedByCommand[name] = (excludedByCommand[name] ?? 0) + 1;
    } else if (this.status === 'ready') {
      const name = String(command.name).toLowerCase();
      byCommand[name] = (byCommand[name] ?? 0) + 1;
      if (name === 'evalsha' || name === 'eval') {
        const first = String(command.args[0] ?? '');
        const sha = name === 'eval' ? createHash('sha1').update(first).digest('hex') : first;
        const script = scriptNames[sha] ?? sha.slice(0, 8);
        byScript[script] = (byScript[script] ?? 0) + 1;
      }
    }
    return send.call(this, command, stream);
  };
  const define = Redis.prototype.defineCommand;
  Redis.prototype.defineCommand = function namedDefine(name, definition) {
    scriptNames[createHash('sha1').update(definition.lua).digest('hex')] = name.replace(/^hbq_/, '');
    return define.call(this, name, definition);
  };
}

/** Leaves a client (e.g. the one that measures) out of the tally; what it sends is tallied apart. */
export function excludeClient(redis) {
  excluded.add(redis);
}

/** A copy of the tally so far: `{ byCommand, byScript, total, excludedByCommand, scriptNames }`. */
export function commandTally() {
  const total = Object.values(byCommand).reduce((a, b) => a + b, 0);
  return {
    byCommand: { ...byCommand },
    byScript: { ...byScript },
    total,
    excludedByCommand: { ...excludedByCommand },
    scriptNames: { ...scriptNames },
  };
}

/**
 * The server's per-command counts (an INFO commandstats delta) net of what excluded clients sent, and without
 * INFO itself (the measuring connection's snapshots, and every new connection's ready check).
 */
export function netServerCommands(serverDelta, tally) {
  const out = {};
  for (const [cmd, n] of Object.entries(serverDelta)) {
    if (cmd === 'info') continue;
    const net = n - (tally.excludedByCommand[cmd] ?? 0);
    if (net > 0) out[cmd] = net;
  }
  return out;
}

/** What was sent between two tallies. */
export function tallyDelta(before, after) {
  const diff = (a, b) => {
    const out = {};
    for (const [k, v] of Object.entries(b)) if (v - (a[k] ?? 0) > 0) out[k] = v - (a[k] ?? 0);
    return out;
  };
  return {
    byCommand: diff(before.byCommand, after.byCommand),
    byScript: diff(before.byScript, after.byScript),
    total: after.total - before.total,
    excludedByCommand: diff(before.excludedByCommand, after.excludedByCommand),
    scriptNames: after.scriptNames,
  };
}
