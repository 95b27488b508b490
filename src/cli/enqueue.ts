import type { Config } from '../config.js';
import { createProducer } from '../producer/producer.js';
import { parseUpdate, type Update } from '../update.js';
import { progress, readLines, write } from './io.js';

const CHUNK = 1000;

/**
 * `enqueue [FILE|-]`: validates every NDJSON line first; if any is invalid, names each bad line with its reason
 * and enqueues nothing (exit 1). Otherwise enqueues all and prints `{"objectWriteTraceId": ...}` per input line.
 * Blank lines are skipped; line numbers count them.
 */
export async function runEnqueue(args: string[], config: Config): Promise<number> {
  const valid: Update[] = [];
  const problems: string[] = [];
  let lineNo = 0;
  for await (const line of readLines(args[0])) {
    lineNo++;
    if (line.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      problems.push(`line ${lineNo}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
      continue;
    }
    const parsed = parseUpdate(raw);
    if (parsed.ok) valid.push(parsed.update);
    else problems.push(`line ${lineNo}: ${parsed.issues.join('; ')}`);
  }
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`${p}\n`);
    process.stderr.write(`${problems.length} invalid line(s); nothing was enqueued\n`);
    return 1;
  }

  const producer = createProducer({ redis: config.REDIS_URL, queueName: config.QUEUE_NAME });
  const bar = progress('enqueued', valid.length);
  try {
    for (let i = 0; i < valid.length; i += CHUNK) {
      const results = await producer.enqueueMany(valid.slice(i, i + CHUNK));
      let out = '';
      for (const r of results) out += `${JSON.stringify({ objectWriteTraceId: r.objectWriteTraceId })}\n`;
      await write(process.stdout, out);
      bar.tick(i + results.length);
    }
    bar.end();
  } finally {
    await producer.close();
  }
  return 0;
}
