import { type AccountStatus, type QueueStatus, WORKER_ALIVE_MS } from './status.js';
import { STRANDED_NOTE, type StrandedJobs } from './stranded.js';

/** Columns separated by two spaces; all-number columns are right-aligned (header too) so magnitudes line up. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.,]+$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        return numeric[i] ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map((r) => line(r))].join('\n');
}

/** A duration for people: `850 ms`, `4.2 s`, `3 m 05 s`, `2 h 10 m`, `3 d 4 h`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const total = Math.floor(s);
  const [d, h, m, sec] = [
    Math.floor(total / 86_400),
    Math.floor(total / 3600) % 24,
    Math.floor(total / 60) % 60,
    total % 60,
  ];
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} m`;
  return `${m} m ${String(sec).padStart(2, '0')} s`;
}

const optional = (n: number | undefined): string => (n === undefined ? '-' : String(n));

function budgetOf(a: AccountStatus): string {
  if (!a.budget) return 'not configured';
  const window = `${a.budget.maxRequests}/${formatDuration(a.budget.windowMs).replace(/\.0 s$/, ' s')}`;
  return a.budget.dailyLimit === undefined ? window : `${window}, ${a.budget.dailyLimit}/day`;
}

function stateOf(a: AccountStatus, at: number): string {
  if (!a.paused) return 'active';
  const why = [a.pauseReason, a.policyName].filter(Boolean).join(' ');
  const left = a.pausedUntil === undefined ? '' : ` for ${formatDuration(Math.max(0, a.pausedUntil - at))}`;
  return `PAUSED${why ? ` (${why})` : ''}${left}`;
}

/** `none`, or the count with why and where, e.g. `2 (BullMQ ... not supported): 1 delayed, 1 prioritized`. */
function strandedOf(s: StrandedJobs): string {
  if (s.total === 0) return 'none';
  const states: Array<[number, string]> = [
    [s.delayed, 'delayed'],
    [s.prioritized, 'prioritized'],
    [s.waitingChildren, 'waiting-children'],
    [s.paused, 'paused'],
  ];
  const where = states.filter(([n]) => n > 0).map(([n, state]) => `${n} ${state}`);
  return `${s.total} (${STRANDED_NOTE}): ${where.join(', ')}`;
}

function untilOf(a: AccountStatus): string {
  return a.paused && a.pausedUntil !== undefined ? new Date(a.pausedUntil).toISOString() : '-';
}

function recordFormatOf(format: QueueStatus['recordFormat']): string {
  if (format === 'object')
    return 'object (for readers of versions before compact records; `record-format compact` once they are gone)';
  if (format === 'mixed') return 'mixed (shards differ: run `record-format` with the format wanted)';
  return format;
}

/** The status as aligned plain-text tables, for a terminal. */
export function renderStatus(status: QueueStatus): string {
  const out: string[] = [];
  out.push(`Queue ${status.queue} at ${new Date(status.at).toISOString()}`);
  if (status.shards) out.push(`Shards: ${status.shards.length} (${status.shards.join(', ')})`);
  out.push('');

  const { depth } = status;
  out.push(
    table(
      ['STATE', 'UPDATES'],
      (['waiting', 'pending', 'inflight', 'delayed', 'invalid'] as const).map((s) => [s, String(depth[s])]),
    ),
  );
  out.push(
    `Oldest waiting update: ${
      status.oldestWaitingAgeMs === null ? 'none' : `${formatDuration(status.oldestWaitingAgeMs)} old`
    }`,
    `Stranded: ${strandedOf(status.stranded)}`,
    `Outcome records: ${recordFormatOf(status.recordFormat)}`,
    '',
  );

  if (status.accounts.length === 0) out.push('Accounts: none configured', '');
  else {
    out.push(
      table(
        [
          'ACCOUNT',
          'BUDGET',
          'IN WINDOW',
          'STATE',
          'PAUSED UNTIL',
          'HUBSPOT REMAINING',
          'DAILY REMAINING',
          'TODAY',
        ],
        status.accounts.map((a) => [
          a.account,
          budgetOf(a),
          `${a.grantsInWindow}/${a.effectiveMax}`,
          stateOf(a, status.at),
          untilOf(a),
          a.reportedRemaining === undefined
            ? '-'
            : `${a.reportedRemaining}${a.reportedMax === undefined ? '' : `/${a.reportedMax}`}`,
          optional(a.reportedDailyRemaining),
          String(a.dailyCount),
        ]),
      ),
    );
    const details = status.accounts.filter((a) => a.paused && a.detail);
    for (const a of details) out.push(`  ${a.account}: ${a.detail}`);
    out.push('');
  }

  const categories = Object.entries(status.failedByCategory);
  if (categories.length === 0) out.push('Failed by category: none');
  else {
    out.push(
      table(
        ['FAILED CATEGORY', 'UPDATES'],
        categories.map(([category, n]) => [category, String(n)]),
      ),
    );
  }
  const o = status.outcomes;
  out.push(`Outcomes: ${o.succeeded} succeeded, ${o.failed} failed, ${o.superseded} superseded`, '');

  const w = status.workers;
  out.push(
    `Workers alive: ${w.alive}${w.ids.length > 0 ? ` (${w.ids.join(', ')})` : ''}${
      w.stale > 0 ? `; ${w.stale} without a heartbeat for over ${formatDuration(WORKER_ALIVE_MS)}` : ''
    }`,
  );
  return `${out.join('\n')}\n`;
}
