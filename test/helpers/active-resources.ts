/**
 * Counts of the process's live libuv handles and requests by type (`TCPSocketWrap`, `TCPServerWrap`, `Timeout`,
 * `ProcessWrap`, `FSReqCallback`...), as `process.getActiveResourcesInfo()` reports them. Unref'd timers are not
 * counted: they cannot keep a process alive, which is what a leak here means.
 */
export type ResourceCounts = ReadonlyMap<string, number>;

/**
 * Resource types that belong to the test runner rather than to a test: the fork's IPC channel and its
 * stdout/stderr pipes (`PipeWrap`, which the runner's own output writes open and close at will) and a terminal
 * when one is attached. A test's child-process pipes are still caught, through the `ProcessWrap` that owns them.
 */
const RUNNER_TYPES: ReadonlySet<string> = new Set([]);

/** The live resources now, by type, less the runner's own. */
export function countResources(): ResourceCounts {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) {
    if (RUNNER_TYPES.has(type)) continue;
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
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
 * The counts to compare a test against. The runner keeps one ref'd `Timeout` of its own for up to 100 ms after
 * it reports progress (a throttle), so one reading may include it; a leaked timer would then hide behind it
 * when it is gone at the end. Reading for `windowMs` (a little longer than the throttle) and keeping each type's
 * lowest count leaves it out; the wait ends as soon as a count falls, which is the runner's timer firing.
 */
export async function baseline({ windowMs = 120, intervalMs = 10 } = {}): Promise<ResourceCounts> {
  const first = countResources();
  const lowest = new Map(first);
  const deadline = Date.now() + windowMs;
  while (Date.now() < deadline) {
    await new Promise<void>((resolve) => setTimeout(resolve, intervalMs).unref());
    const now = countResources();
    let fell = false;
    for (const [type, n] of lowest) {
      const m = now.get(type) ?? 0;
      if (m < n) {
        lowest.set(type, m);
        fell = true;
      }
    }
    if (fell) break;
  }
  return lowest;
}

/**
 * Waits until no type has grown past `before`, or `timeoutMs` passed; returns what is still grown. Sockets and
 * timers are released a few ticks after `close()`/`quit()` resolves, so a fixed check right away would fail
 * tests that did close everything. The poll timer is unref'd so it never counts itself.
 */
export async function settle(
  before: ResourceCounts,
  { timeoutMs = 2_000, intervalMs = 10 } = {},
): Promise<Growth[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const grown = growth(before, countResources());
    if (grown.length === 0 || Date.now() >= deadline) return grown;
    await new Promise<void>((resolve) => setTimeout(resolve, intervalMs).unref());
  }
}
