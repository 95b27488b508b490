import { createHook } from 'node:async_hooks';

/**
 * Where live resources come from. A timer says nothing about itself, so an async hook notes where each one was
 * created; that tells the test runner's own timers apart from a test's, and names a leaked timer's creation
 * site. Sockets, servers and child processes are described by their addresses and command lines instead.
 *
 * Loaded by the shared leak check before any test runs; timers created before that are treated as a test's.
 */

interface TimerHandle {
  hasRef(): boolean;
  /** Set by Node once the timer fired (and does not repeat) or was cleared; reset if it is re-armed. */
  _destroyed?: boolean;
  _idleTimeout?: number;
}

interface TimerOrigin {
  createdAt: number;
  stack: string;
  /** Created by vitest itself (its progress-report throttle, hook timeouts), not by code a test runs. */
  runner: boolean;
}

// Keyed by the timer object: a re-armed timer is initialised again under a new async id.
const timers = new Map<TimerHandle, TimerOrigin>();
const PRUNE_AT = 10_000;

function prune(): void {
  for (const timer of timers.keys()) if (timer._destroyed) timers.delete(timer);
}

const RUNNER_FRAME = /[\\/]node_modules[\\/](@vitest|vitest)[\\/]/;

createHook({
  init(_asyncId, type, _trigger, resource) {
    if (type !== 'Timeout') return;
    // Past the message and this hook, leaving out Node's own timer and async_hooks frames.
    const frames = (new Error().stack ?? '')
      .split('\n')
      .slice(2)
      .filter((line) => !line.includes('(node:') && !line.includes('at node:'));
    const first = frames[0] ?? '';
    timers.set(resource as TimerHandle, {
      createdAt: Date.now(),
      stack: frames.slice(0, 8).join('\n'),
      runner: RUNNER_FRAME.test(first),
    });
    if (timers.size > PRUNE_AT) prune();
  },
}).enable();

function live(timer: TimerHandle): boolean {
  return !timer._destroyed && timer.hasRef();
}

/** How many pending ref'd timers belong to the test runner (never a test's leak). */
export function runnerTimers(): number {
  prune();
  let n = 0;
  for (const [timer, origin] of timers) if (origin.runner && live(timer)) n++;
  return n;
}

/** Pending ref'd timers not the runner's, created at or after `since` (ms since epoch), with their origin. */
export function pendingTimers(since: number): string[] {
  const out: string[] = [];
  for (const [timer, { createdAt, stack, runner }] of timers) {
    if (runner || createdAt < since || !live(timer)) continue;
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
