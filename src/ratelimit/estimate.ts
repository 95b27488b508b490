/**
 * The arithmetic the Lua scripts do, mirrored in TypeScript: `state()` reads the stored outside-usage estimate
 * through it, and the tests check the scripts against it. Keep both in step (acquire.lua, report.lua).
 */

/** How fast the outside-usage estimate follows a new sample: quickly up (429s are costly), slower down. */
export const DEFAULT_GAINS = { up: 0.5, down: 0.25 } as const;

/** Gains of the exponential smoothing of outside usage, each in (0, 1]. */
export interface SmoothingGains {
  readonly up: number;
  readonly down: number;
}

/**
 * Default safety margin added to HubSpot's window: 1% of the window plus 10 ms. It covers the spread of the
 * delay between a grant and the request's arrival at HubSpot (event-loop lag, connection setup, network).
 */
export function defaultMarginMs(windowMs: number): number {
  return Math.floor(windowMs * 0.01) + 10;
}

/**
 * The estimate left `elapsedMs` after the last sample: held for one window (while calls flow, samples keep it
 * current, and decaying between them would bias it low), then halved every window, so an outside client is
 * forgotten within a few windows of silence.
 */
export function decayEstimate(estimate: number, elapsedMs: number, windowMs: number): number {
  if (!(estimate > 0)) return 0;
  return estimate * 0.5 ** (Math.max(0, elapsedMs - windowMs) / windowMs);
}

/**
 * Calls HubSpot counted in its window that were not ours. `ourGrants` counts our grants in the window ending
 * at this call's grant, this call included, as HubSpot counts at arrival.
 */
export function outsideUsageSample(
  reportedMax: number,
  reportedRemaining: number,
  ourGrants: number,
): number {
  return Math.max(0, reportedMax - reportedRemaining - ourGrants);
}

/**
 * The next smoothed estimate: the previous one decayed to now, then moved towards the sample by the gain of
 * the direction (asymmetric exponential smoothing). Always between the decayed estimate and the sample.
 * `exhausted`: HubSpot reported no calls remaining.
 */
export function smoothOutsideUsage(
  previous: number,
  elapsedMs: number,
  sample: number,
  windowMs: number,
  gains: SmoothingGains = DEFAULT_GAINS,
  exhausted = false,
): number {
  const decayed = decayEstimate(previous, elapsedMs, windowMs);
  // With nothing remaining HubSpot's count is capped at its max, so the sample is only a lower bound: climb
  // past the estimate rather than settle where our own calls already overflow the window.
  const x = exhausted ? Math.max(sample, decayed + 1) : sample;
  const gain = x > decayed ? gains.up : gains.down;
  return Math.max(0, decayed + gain * (x - decayed));
}

/** The budget's window and HubSpot's reported one, for comparing limits as rates. */
export interface Windows {
  /** The budget's window (ms). */
  windowMs: number;
  /** HubSpot's reported `Interval-Milliseconds`, when there is one: the window grants are then counted in. */
  reportedIntervalMs?: number;
}

/**
 * Calls per window the budget allows over HubSpot's window once it reported one: limits compare as rates, so a
 * budget of 10 per 1 s is 100 per HubSpot's 10 s. At least 1.
 */
export function budgetCapOf(maxRequests: number, windows?: Windows): number {
  const interval = windows?.reportedIntervalMs;
  if (interval === undefined || !(interval > 0) || !(windows && windows.windowMs > 0)) return maxRequests;
  return Math.max(1, Math.floor((maxRequests * interval) / windows.windowMs + 1e-9));
}

/**
 * The number of grants allowed per guarded window: our budget (as a rate over HubSpot's window, see
 * {@link budgetCapOf}), capped by HubSpot's reported Max, minus the rounded outside usage; never below 1 so a
 * busy account still progresses.
 */
export function effectiveMaxOf(
  maxRequests: number,
  reportedMax: number | undefined,
  outside: number,
  windows?: Windows,
): number {
  const budgetCap = budgetCapOf(maxRequests, windows);
  const cap = reportedMax !== undefined && reportedMax > 0 ? Math.min(budgetCap, reportedMax) : budgetCap;
  return Math.max(1, cap - (outside >= 1 ? Math.ceil(outside - 0.05) + 1 : 0));
}
