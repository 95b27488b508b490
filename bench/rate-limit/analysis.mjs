// Figures of a drain, computed from the simulator's arrival log (arrival times in ms).

/**
 * Rate and steadiness of a series of arrivals against a limit of `max` per rolling `windowMs`.
 * - `rate`: calls per second between the first and the last arrival, (n - 1) / span;
 * - `share`: that rate over the limit (max per window);
 * - `minWindow` / `maxWindow`: fewest / most arrivals in any window [s, s + windowMs) whose start s lies on a
 *   10 ms grid from first + windowMs to last - 2 * windowMs, i.e. whole windows that leave out the first second
 *   of ramp-up and the last second of tail; null when the drain is too short to have any.
 */
export function drainFigures(times, max, windowMs) {
  const t = [...times].sort((a, b) => a - b);
  const n = t.length;
  if (n < 2) return { calls: n, spanMs: 0, rate: 0, share: 0, minWindow: null, maxWindow: null };
  const first = t[0];
  const last = t[n - 1];
  const spanMs = last - first;
  const rate = spanMs > 0 ? ((n - 1) * 1000) / spanMs : 0;
  const perSecondLimit = (max * 1000) / windowMs;
  let minWindow = null;
  let maxWindow = null;
  let lo = 0;
  let hi = 0;
  for (let s = first + windowMs; s <= last - 2 * windowMs; s += 10) {
    while (lo < n && t[lo] < s) lo++;
    while (hi < n && t[hi] < s + windowMs) hi++;
    const count = hi - lo;
    minWindow = minWindow === null ? count : Math.min(minWindow, count);
    maxWindow = maxWindow === null ? count : Math.max(maxWindow, count);
  }
  return { calls: n, first, last, spanMs, rate, share: rate / perSecondLimit, minWindow, maxWindow };
}

export const pct = (x, digits = 1) =>
  x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(digits)}%`;
export const verdict = (ok) => (ok ? '**pass**' : '**FAIL**');
