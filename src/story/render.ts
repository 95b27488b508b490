import type { ExplainedBatch, Explanation } from './explain.js';

/** An epoch-ms time as ISO 8601, or `?` for none. */
function iso(ms: number | undefined): string {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : '?';
}

function batchLines(b: ExplainedBatch): string[] {
  if (!b.recorded) {
    return [`batch ${b.batchId}: no record of it (its worker stopped before settling it, or it expired)`];
  }
  const size = `${b.inputs ?? 0} input${b.inputs === 1 ? '' : 's'}, ${b.updates ?? 0} update${b.updates === 1 ? '' : 's'}`;
  const lines = [`${iso(b.claimedAt)}  batch ${b.batchId} (${size})`];
  if (b.mergedWith.length > 0) lines.push(`    merged with ${b.mergedWith.join(', ')}`);
  if (b.decided) lines.push(`    decided before sending: ${b.decided}`);
  for (const c of b.calls) {
    const parts = [
      `${typeof c.status === 'number' ? `HTTP ${c.status}` : c.status}`,
      ...(c.policyName ? [`policy ${c.policyName}`] : []),
      `correlation id ${c.correlationId ?? '-'}`,
      `attempt ${c.attempt}`,
      `waited ${c.waitedMs} ms for budget`,
      `took ${c.latencyMs} ms`,
      ...(c.inputs !== b.inputs ? [`${c.inputs} of ${b.inputs ?? 0} inputs`] : []),
    ];
    lines.push(`${iso(c.at)}    call: ${parts.join(', ')}`);
  }
  return lines;
}

// Control characters a terminal acts on (escape sequences set titles, move the cursor, clear the screen).
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters it exists to find
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Text from producers and HubSpot (trace ids, messages) with its control characters shown as `\uXXXX`: a trace id
 * may hold ESC or BEL (the trace id rule forbids whitespace only), and this text goes to an operator's terminal.
 */
function safe(line: string): string {
  return line.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** An explanation as text for a terminal: one line per event, times in UTC; control characters shown escaped. */
export function renderExplanation(e: Explanation): string {
  if (!e.seen) return `${safe(e.message)}\n`;
  const o = e.outcome;
  const object = `${o.account} ${o.objectType} ${o.idProperty ? `${o.idProperty}=` : ''}${o.id}`;
  const lines = [`update ${e.objectWriteTraceId} (${object})`, `${iso(e.enqueuedAt)}  enqueued`];
  if (e.ingestedAt !== undefined) lines.push(`${iso(e.ingestedAt)}  ingested`);
  else if (o.status === 'queued') lines.push('                          waiting to be ingested');
  for (const b of e.batches) lines.push(...batchLines(b));
  const error = o.error ? ` (${o.error.category}: ${o.error.message})` : '';
  const at = o.finishedAt !== undefined ? iso(o.finishedAt) : ' '.repeat(24);
  lines.push(`${at}  outcome: ${o.status}${error}, ${o.attempts} attempt${o.attempts === 1 ? '' : 's'}`);
  return `${lines.map(safe).join('\n')}\n`;
}
