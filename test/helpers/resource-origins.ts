import { createHook } from 'node:async_hooks';

/**
 * Where the resources a leak report counts come from. Sockets and servers can be described as they are (their
 * addresses); a timer says nothing about itself, so with `LEAK_TRACE` set an async hook records where each one
 * was created. It is opt-in because an init hook also runs for every promise, which slows the whole suite.
 */

interface TimerHandle {
  hasRef(): boolean;
  _destroyed?: boolean;
  _idleTimeout?: number;
}

interface TimerOrigin {
  timer: TimerHandle;
  createdAt: number;
  stack: string;
}

const timers = new Map<number, TimerOrigin>();
let tracking = false;

/** Starts recording where timers are created (idempotent). */
export function trackTimerOrigins(): void {
  if (tracking) return;
  tracking = true;
  createHook({
    init(asyncId, type, _trigger, resource) {
      if (type !== 'Timeout') return;
      // Past the message and this hook, leaving out Node's own timer and async_hooks frames.
      const stack = (new Error().stack ?? '')
        .split('\n')
        .slice(2)
        .filter((line) => !line.includes('(node:') && !line.includes('at node:'))
        .slice(0, 8)
        .join('\n');
      timers.set(asyncId, { timer: resource as TimerHandle, createdAt: Date.now(), stack });
    },
    destroy(asyncId) {
      timers.delete(asyncId);
    },
  }).enable();
}

/** Pending ref'd timers created at or after `since` (ms since epoch), with where they were created. */
export function pendingTimers(since: number): string[] {
  const out: string[] = [];
  for (const { timer, createdAt, stack } of timers.values()) {
    if (createdAt < since || timer._destroyed || !timer.hasRef()) continue;
    out.push(`Timeout(${timer._idleTimeout ?? '?'} ms) created\n${stack}`);
  }
  return out;
}

interface HandleLike {
  constructor: { name: string };
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
  address?: () => unknown;
  hasRef?: () => boolean;
  pid?: number;
  spawnargs?: string[];
}

// Node offers no public list of handle objects; the undocumented `process._getActiveHandles()` only feeds
// messages here, never the verdict.
function activeHandles(): HandleLike[] {
  return (process as unknown as { _getActiveHandles?: () => HandleLike[] })._getActiveHandles?.() ?? [];
}

/** The handle objects live now, to leave out of a later {@link describeHandles}. */
export function handleSnapshot(): ReadonlySet<unknown> {
  return new Set(activeHandles());
}

/** The live ref'd sockets, servers and child processes not in `before`, by address or command line. */
export function describeHandles(before: ReadonlySet<unknown>): string[] {
  const out: string[] = [];
  for (const h of activeHandles()) {
    if (before.has(h) || (h.hasRef && !h.hasRef())) continue;
    const kind = h.constructor.name;
    if (kind === 'Socket' && h.remotePort !== undefined)
      out.push(`socket ${h.localAddress}:${h.localPort} → ${h.remoteAddress}:${h.remotePort}`);
    else if (kind === 'Server') out.push(`server ${JSON.stringify(h.address?.())}`);
    else if (kind === 'ChildProcess') out.push(`child process ${h.pid} ${(h.spawnargs ?? []).join(' ')}`);
  }
  return out;
}
