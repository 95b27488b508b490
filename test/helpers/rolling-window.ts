/** Largest number of times within any closed interval of `spanMs`. */
export function maxInAnyWindow(times: number[], spanMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] ?? 0) - (sorted[first] ?? 0) > spanMs) first++;
    best = Math.max(best, last - first + 1);
  }
  return best;
}
