// One drain at HubSpot's real parameters (a 10-s rolling window, 100/190/250 calls per window, slow calls), with
// the figures HubSpot's side sees: share of the limit sustained in steady state, the most calls in any rolling
// window (every arrival counted, as HubSpot counts), the longest gap between two calls in steady state, 429s.
import { fileURLToPath } from 'node:url';
import { runDrain } from './drain.mjs';

const STALL_PROBE = fileURLToPath(new URL('./stall-probe.mjs', import.meta.url));

/** The longest stall in [from, to) of `stalls` ({ at, ms }), 0 when none. */
function longestStall(stalls, from, to) {
  return stalls.filter((s) => s.at >= from && s.at < to).reduce((m, s) => Math.max(m, s.ms), 0);
}

/**
 * Steady-state figures of accepted arrival times against `max` per rolling `windowMs`: the run minus its first
 * and its last window (ramp-up and tail).
 */
export function steadyFigures(acceptedTimes, allTimes, max, windowMs) {
  const t = [...acceptedTimes].sort((a, b) => a - b);
  const all = [...allTimes].sort((a, b) => a - b);
  const first = t[0] ?? 0;
  const last = t[t.length - 1] ?? 0;
  const from = first + windowMs;
  const to = last - windowMs;
  const inside = t.filter((x) => x >= from && x < to);
  const spanMs = to - from;
  const share = spanMs > 0 ? inside.length / ((spanMs / windowMs) * max) : null;
  let longestGapMs = 0;
  for (let i = 1; i < inside.length; i++) longestGapMs = Math.max(longestGapMs, inside[i] - inside[i - 1]);
  // HubSpot's own count: every arrival (429s too) in any window (now - windowMs, now].
  let mostInWindow = 0;
  let lo = 0;
  for (let hi = 0; hi < all.length; hi++) {
    while (all[lo] <= all[hi] - windowMs) lo++;
    mostInWindow = Math.max(mostInWindow, hi - lo + 1);
  }
  return {
    from,
    to,
    calls: t.length,
    steadyCalls: inside.length,
    steadySpanMs: spanMs,
    share,
    longestGapMs,
    mostInWindow,
  };
}

/**
 * Runs one cell: `replicas` worker processes drain `updates` updates to distinct contacts of one account whose
 * limit is `max` per `windowMs`, HubSpot answering after `latencyMs` (a simulator latency option).
 */
export async function runRealWindowCell(redisUrl, cell, log) {
  const {
    replicas,
    max,
    windowMs = 10_000,
    latencyMs,
    updates,
    workerEnv = {},
    outsideCallsPerSecond = 0,
    feedPerSecond,
  } = cell;
  const account = {
    name: 'default',
    token: 'tok-rw',
    portalId: 'portal-rw',
    maxRequests: max,
    windowMs,
    updates,
  };
  const result = await runDrain(redisUrl, [account], {
    replicas,
    latencyMs,
    outsideCallsPerSecond,
    ...(feedPerSecond ? { feedPerSecond } : {}),
    workerEnv: {
      RATE_LIMIT_MAX: String(max),
      RATE_LIMIT_WINDOW_MS: String(windowMs),
      NODE_OPTIONS: `--import=${STALL_PROBE}`,
      ...workerEnv,
    },
    timeoutMs: cell.timeoutMs ?? 600_000,
    simNice: cell.simNice ?? -10,
    log,
  });
  const mine = result.calls.filter((c) => c.portal === account.portalId && c.path.includes('/batch/update'));
  const accepted = mine.filter((c) => c.status === 200 || c.status === 207);
  const figures = steadyFigures(
    accepted.map((c) => c.at),
    result.calls.map((c) => c.at),
    max - (outsideCallsPerSecond * windowMs) / 1000,
    windowMs,
  );
  const workerStalls = [];
  const workerLines = [];
  for (const line of result.workerLines) {
    const m = /STALL (\d+) (\d+)/.exec(line);
    if (m) workerStalls.push({ at: Number(m[1]), ms: Number(m[2]) });
    else workerLines.push(line);
  }
  return {
    ...figures,
    longestSimStallMs: longestStall(result.simStalls ?? [], figures.from, figures.to),
    longestWorkerStallMs: longestStall(workerStalls, figures.from, figures.to),
    rejected: mine.filter((c) => c.status === 429).length,
    sent: mine.length,
    failed: Number(result.stats.failed ?? 0),
    timedOut: result.timedOut,
    exitCodes: result.exitCodes,
    workerLines,
    wallMs: result.wallMs,
    hubspotMaxInWindow: result.simStats.maxCallsInAnyWindow[account.portalId],
  };
}
