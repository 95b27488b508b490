import { type Config, updateLimitsOf } from '../config.js';
import { createProducer, type EnqueueResult } from '../producer/producer.js';
import { describeConflict, type TraceIdConflict, TraceIdConflictError } from '../producer/trace-ids.js';
import { progress, readLines, write } from './io.js';
import { parseCommandArgs } from './usage.js';

const CHUNK = 1000;

/** Names conflicting lines by number: `line 7: objectWriteTraceId "x" is already used ... (by line 3)`. */
function conflictLines(conflicts: readonly TraceIdConflict[], lineOf: (index: number) => number): string[] {
  return conflicts.map((c) => describeConflict(c, (i) => `line ${lineOf(i)}`));
}

/**
 * `enqueue [FILE|-]`: validates every NDJSON line first, then checks every trace id against Redis (read-only) and
 * against the other lines. If a line is invalid, or reuses a trace id for a different update, it names each such
 * line with its reason and enqueues nothing (exit 1). Otherwise enqueues all and prints
 * `{"objectWriteTraceId": ...}` per input line, with `"duplicate": true` for a line whose update (same trace id,
 * same content) was already enqueued. Blank lines are skipped; line numbers count them.
 */
export async function runEnqueue(args: string[], config: Config): Promise<number> {
  const { positionals } = parseCommandArgs(args, {}, 1);
  const limits = updateLimitsOf(config);
  const requests: unknown[] = [];
  const lineNos: number[] = [];
  const problems: Array<{ lineNo: number; text: string }> = [];
  let lineNo = 0;
  for await (const line of readLines(positionals[0])) {
    lineNo++;
    if (line.trim() === '') continue;
    try {
      requests.push(JSON.parse(line));
      lineNos.push(lineNo);
    } catch (err) {
      problems.push({ lineNo, text: `not valid JSON (${err instanceof Error ? err.message : String(err)})` });
    }
  }
  const producer = createProducer({
    redis: config.REDIS_URL,
    queueName: config.QUEUE_NAME,
    shards: config.QUEUE_SHARDS,
    limits,
  });
  try {
    // The producer validates, once: the lines it refuses are named with its own words.
    const valid = producer.validate(requests);
    for (const p of valid.issues) problems.push({ lineNo: lineNos[p.index] ?? 0, text: p.issues.join('; ') });
    if (problems.length > 0) {
      problems.sort((a, b) => a.lineNo - b.lineNo);
      for (const p of problems) process.stderr.write(`line ${p.lineNo}: ${p.text}\n`);
      process.stderr.write(`${problems.length} invalid line(s); nothing was enqueued\n`);
      return 1;
    }
    const check = await producer.checkTraceIds(valid);
    if (check.conflicts.length > 0) {
      for (const p of conflictLines(check.conflicts, (i) => lineNos[i] ?? 0)) process.stderr.write(`${p}\n`);
      process.stderr.write(
        `${check.conflicts.length} line(s) reuse a trace id for a different update; nothing was enqueued\n`,
      );
      return 1;
    }
    const bar = progress('enqueued', valid.updates.length);
    let duplicates = 0;
    const print = async (results: readonly EnqueueResult[]) => {
      let out = '';
      for (const r of results) {
        if (r.duplicate) duplicates++;
        const line = r.duplicate
          ? { objectWriteTraceId: r.objectWriteTraceId, duplicate: true }
          : { objectWriteTraceId: r.objectWriteTraceId };
        out += `${JSON.stringify(line)}\n`;
      }
      await write(process.stdout, out);
    };
    for (let i = 0; i < valid.updates.length; i += CHUNK) {
      let results: EnqueueResult[];
      try {
        results = await producer.enqueueMany(valid.slice(i, i + CHUNK));
      } catch (err) {
        if (!(err instanceof TraceIdConflictError)) throw err;
        // Another producer took a trace id since the check. What was enqueued before is printed; nothing after.
        await print(err.enqueued);
        const lines = conflictLines(err.conflicts, (j) => lineNos[i + j] ?? 0);
        for (const p of lines) process.stderr.write(`${p}\n`);
        const from = `lines from line ${lineNos[i + err.enqueued.length]} on were not enqueued`;
        process.stderr.write(`${lines.length} line(s) reuse a trace id for a different update; ${from}\n`);
        return 1;
      }
      await print(results);
      bar.tick(i + results.length);
    }
    bar.end();
    if (duplicates > 0) {
      process.stderr.write(
        `${duplicates} line(s) reuse a trace id for the same update, already enqueued: not added again\n`,
      );
    }
  } finally {
    await producer.close();
  }
  return 0;
}
