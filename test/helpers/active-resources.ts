import { pendingTimers, runnerTimers } from './resource-origins.js';

/**
 * Counts of the process's live libuv handles and requests by type (`TCPSocketWrap`, `TCPServerWrap`, `Timeout`,
 * `ProcessWrap`, `FSReqCallback`...), as `process.getActiveResourcesInfo()` reports them. Unref'd timers are not
 * counted: they cannot keep a process alive, which is what a leak here means.
 */
export type ResourceCounts = ReadonlyMap<string, number>;

/**
 * The live resources now, by type. The runner's own are left out: its fork's IPC channel and stdio pipes
 * (four `PipeWrap`s, the same before and after every test, so they cancel out) and its timers, of which only
 * the progress-report throttle is ref'd (one `Timeout` for up to 100 ms after each report, so it comes and goes
 * across a test and would hide a leaked timer or fake one).
 */
export function countResources(): ResourceCounts {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  const own = runnerTimers();
  if (own > 0) counts.set('Timeout', Math.max(0, (counts.get('Timeout') ?? 0) - own));
  return counts;
}

/** One resource type with more live instances than before. */
export interface Growth {
  type: string;
  before: number;
  after: number;
}

/** The types whose count grew from `before` to `after`. */
export function growth(before: ResourceCounts, after: ResourceCounts): Growth[] {
  const grown: Growth[] = [];
  for (const [type, n] of after) {
    const was = before.get(type) ?? 0;
    if (n > was) grown.push({ type, before: was, after: n });
  }
  return grown.sort((a, b) => a.type.localeCompare(b.type));
}

/** Adds the growth to a baseline, so resources already reported once are not reported again. */
export function absorb(baseline: ResourceCounts, grown: readonly Growth[]): ResourceCounts {
  const next = new Map(baseline);
  for (const g of grown) next.set(g.type, Math.max(next.get(g.type) ?? 0, g.after));
  return next;
}

export function describeGrowth(grown: readonly Growth[]): string {
  return grown.map((g) => `${g.type} +${g.after - g.before} (${g.before} → ${g.after})`).join(', ');
}

/**
 * What grew from `before` to now. With `timersSince`, a pending timer created since then counts as grown even
 * when the total did not rise (an older timer firing meanwhile would otherwise make room for it).
 */
export function grownSince(before: ResourceCounts, timersSince?: number): Growth[] {
  const grown = growth(before, countResources());
  if (timersSince === undefined) return grown;
  const fresh = pendingTimers(timersSince).length;
  const timeout = grown.find((g) => g.type === 'Timeout');
  if (fresh > (timeout ? timeout.after - timeout.before : 0)) {
    const was = before.get('Timeout') ?? 0;
    const entry = { type: 'Timeout', before: was, after: was + fresh };
    return [...grown.filter((g) => g.type !== 'Timeout'), entry].sort((a, b) => a.type.localeCompare(b.type));
  }
  return grown;
}

/**
 * Waits until nothing has grown past `before` (see {@link grownSince}), or `timeoutMs` passed; returns what is
 * still grown. Sockets and timers are released a few ticks after `close()`/`quit()` resolves, so a fixed check
 * right away would fail tests that did close everything. The poll timer is unref'd so it never counts itself.
 */
export async function settle(
  before: ResourceCounts,
  {
    timeoutMs = 2_000,
    intervalMs = 10,
    timersSince,
  }: { timeoutMs?: number; intervalMs?: number; timersSince?: number } = {},
): Promise<Growth[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const grown = grownSince(before, timersSince);
    if (grown.length === 0 || Date.now() >= deadline) return grown;
    await new Promise<void>((resolve) => setTimeout(resolve, intervalMs).unref());
  }
}
