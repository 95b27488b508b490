// Priority lanes (issue 15): a 200,000-update bulk backfill of distinct contacts on one account at HubSpot's
// real window (100 calls per 10 s, so 2,000 full calls and 200 s), HubSpot answering in 50 ms-2 s (long tail),
// plus one interactive update a second enqueued during the drain. Figures: the interactive updates'
// enqueue-to-outcome times (on Redis's clock: the outcome's finishedAt minus its enqueuedAt) against the bound
// linger + two pacing intervals + the call's latency; the backfill's share of the calls the interactive updates
// leave; properties stale at the end; 429s. LANES_BENCH_UPDATES=50000 runs a shorter drain for development.
import os from 'node:os';
import { runLanesDrain } from './lanes/drain.mjs';
import { pct, verdict } from './rate-limit/analysis.mjs';

const MAX = 100;
const WINDOW_MS = 10_000;
const LINGER_MS = 250;
const PACING_MS = WINDOW_MS / MAX;
const LONG_TAIL = { kind: 'longTail', medianMs: 200, p99Ms: 1500, minMs: 50, maxMs: 2000 };
const REQUIRED_SHARE = 0.97;

/** The q-quantile (nearest rank) of numbers. */
function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return null;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Steady state (the drain minus its first and last window): calls per window carrying bulk work, and the rest. */
function shareFigures(calls) {
  const ok = calls.filter((c) => c.status === 200 || c.status === 207).sort((a, b) => a.at - b.at);
  const first = ok[0]?.at ?? 0;
  const last = ok.at(-1)?.at ?? 0;
  const from = first + WINDOW_MS;
  const to = last - WINDOW_MS;
  const inside = ok.filter((c) => c.at >= from && c.at < to);
  const windows = (to - from) / WINDOW_MS;
  if (windows <= 0) return null;
  // A call carrying any bulk input is the backfill's; one carrying interactive inputs only is the lanes' own.
  const bulkCalls = inside.filter((c) => c.inputCount > c.interactive.length).length;
  const interactiveOnly = inside.length - bulkCalls;
  const bulkInputs = inside.reduce((n, c) => n + c.inputCount - c.interactive.length, 0);
  const interactiveInputs = inside.reduce((n, c) => n + c.interactive.length, 0);
  return {
    windows,
    bulkPerWindow: bulkCalls / windows,
    interactiveOnlyPerWindow: interactiveOnly / windows,
    share: bulkCalls / windows / (MAX - interactiveOnly / windows),
    // The same by inputs: bulk inputs over the inputs the interactive ones leave of 100 full calls a window.
    inputShare: bulkInputs / windows / (MAX * 100 - interactiveInputs / windows),
  };
}

export async function run({ redisUrl, log }) {
  const updates = Number(process.env.LANES_BENCH_UPDATES ?? 200_000);
  const [loadAtStart] = os.loadavg();
  const r = await runLanesDrain(redisUrl, {
    updates,
    maxRequests: MAX,
    windowMs: WINDOW_MS,
    latency: LONG_TAIL,
    interactiveEveryMs: 1000,
    // Twice the drain at the limit, plus a minute.
    timeoutMs: (updates / 100 / MAX) * WINDOW_MS * 2 + 60_000,
    log,
  });

  // Each interactive update's time, and its own bound: the latency of the call that carried it.
  const carrier = new Map();
  for (const c of r.calls) {
    if (c.status !== 200 && c.status !== 207) continue;
    for (const t of c.interactive) carrier.set(t, c);
  }
  const times = [];
  let overOwnBound = 0;
  for (const o of r.outcomes) {
    if (o.finishedAt === undefined) continue;
    const ms = o.finishedAt - o.enqueuedAt;
    times.push(ms);
    const call = carrier.get(o.objectWriteTraceId);
    if (call && ms > LINGER_MS + 2 * PACING_MS + call.latencyMs) overOwnBound++;
  }
  const latencies = r.calls.filter((c) => c.status === 200 || c.status === 207).map((c) => c.latencyMs);
  const callP99 = quantile(latencies, 0.99) ?? 0;
  const bound = LINGER_MS + 2 * PACING_MS + callP99;
  const p50 = quantile(times, 0.5);
  const p99 = quantile(times, 0.99);
  const max = times.length > 0 ? Math.max(...times) : null;
  const statuses = {};
  for (const o of r.outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
  const share = shareFigures(r.calls);
  const rejected = r.calls.filter((c) => c.status === 429).length;
  const staleCount = r.stale.stale.length;
  const ms = (x) => (x === null ? 'n/a' : `${Math.round(x)} ms`);
  log(
    `  interactive p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(max)} (bound ${ms(bound)}), backfill share ` +
      `${pct(share?.share, 2)}, stale ${staleCount}, 429s ${rejected}, drain ${(r.wallMs / 1000).toFixed(0)} s`,
  );
  for (const line of r.workerLines.slice(0, 3)) log(`    ${line.slice(0, 300)}`);

  const out = [
    '## Priority lanes (issue 15)',
    '',
    `A bulk backfill of ${updates.toLocaleString('en-US')} updates to distinct contacts of one account, enqueued ` +
      'before the worker starts, plus one interactive update a second enqueued while it drains (each to a ' +
      'contact the backfill also writes, sent already or not yet ingested). Simulator: a rolling window of ' +
      `${MAX} calls per 10 s (HubSpot’s lowest tier), latency long-tailed (median 200 ms, p99 1.5 s, 50 ms-2 s), ` +
      'in a process of its own; one `node dist/bin.js worker` with default settings (linger ' +
      `${LINGER_MS} ms). Interactive times are the outcome’s \`finishedAt\` minus its \`enqueuedAt\`, both on ` +
      `Redis’s clock. Bound: linger + 2 pacing intervals (2 × ${PACING_MS} ms) + the p99 call latency ` +
      `(${ms(callP99)}). Load average at start: ${loadAtStart.toFixed(1)} on ${os.cpus().length} cores.`,
    '',
    '| figure | value | required | verdict |',
    '| --- | --- | --- | --- |',
    `| interactive p99 enqueue-to-outcome | ${ms(p99)} | ≤ ${ms(bound)} | ${verdict(p99 !== null && p99 <= bound)} |`,
    `| interactive p50 / max | ${ms(p50)} / ${ms(max)} | | |`,
    `| interactive updates over their own bound (their call’s latency) | ${overOwnBound} of ${times.length} | | |`,
    `| interactive outcomes | ${Object.entries(statuses)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ')} | all succeeded | ${verdict(statuses.succeeded === r.outcomes.length)} |`,
    `| backfill calls per window / (limit − interactive-only calls) | ${share ? `${share.bulkPerWindow.toFixed(1)} / (${MAX} − ${share.interactiveOnlyPerWindow.toFixed(1)}) = ${pct(share.share, 2)}` : 'n/a'} | ≥ ${pct(REQUIRED_SHARE, 0)} | ${verdict(share !== null && share.share >= REQUIRED_SHARE)} |`,
    `| backfill inputs per window / inputs the interactive ones leave | ${pct(share?.inputShare, 2)} | | |`,
    `| properties stale at the end | ${staleCount} of ${r.stale.checked.toLocaleString('en-US')} | 0 | ${verdict(staleCount === 0)} |`,
    `| 429s | ${rejected} of ${r.calls.length} calls | | |`,
    `| drain | ${(r.wallMs / 1000).toFixed(1)} s (backfill enqueued in ${(r.enqueueMs / 1000).toFixed(1)} s before) | | |`,
  ];
  if (r.timedOut) out.push('', '**The drain timed out**: figures cover what settled.');
  if (staleCount > 0) out.push('', `First stale properties: ${JSON.stringify(r.stale.stale.slice(0, 5))}`);
  return out.join('\n');
}
