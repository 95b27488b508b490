// Small statistics and formatting helpers.

export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** Nearest-rank percentile (p in 0..100) of a list of numbers. */
export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1];
};

export const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
export const fixed = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
export const ratio = (x, digits = 2) => (Number.isFinite(x) ? `${x.toFixed(digits)}×` : 'n/a');
export const verdict = (ok) => (ok ? '**pass**' : '**FAIL**');
/** The individual rounds behind a median, e.g. "9,800 / 10,100 / 9,950". */
export const rounds = (xs) => xs.map(int).join(' / ');
