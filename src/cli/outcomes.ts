import type { Config } from '../config.js';
import { createProducer } from '../producer/producer.js';
import { readLines, write } from './io.js';
import { parseCommandArgs } from './usage.js';

const CHUNK = 500;

function idOf(line: string): string {
  const text = line.trim();
  if (!text.startsWith('{')) return text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && 'objectWriteTraceId' in parsed) {
      return String((parsed as { objectWriteTraceId: unknown }).objectWriteTraceId);
    }
  } catch {
    // Not JSON after all: treat the line as the id itself.
  }
  return text;
}

/** `outcomes [FILE|-]`: at most one input, no flags; throws {@link UsageError}. */
export function parseOutcomesArgs(args: string[]): { source: string | undefined } {
  return { source: parseCommandArgs(args, {}, 1).positionals[0] };
}

/**
 * `outcomes [FILE|-]`: one trace id per line, or NDJSON lines with `objectWriteTraceId` (such as the output of
 * `enqueue`); prints one NDJSON outcome per id in order, `null` for an id never seen.
 */
export async function runOutcomes(request: { source: string | undefined }, config: Config): Promise<number> {
  const producer = createProducer({ redis: config.REDIS_URL, queueName: config.QUEUE_NAME });
  try {
    let ids: string[] = [];
    const flush = async () => {
      const outcomes = await producer.getOutcomes(ids);
      await write(process.stdout, outcomes.map((o) => `${JSON.stringify(o)}\n`).join(''));
      ids = [];
    };
    for await (const line of readLines(request.source)) {
      if (line.trim() === '') continue;
      ids.push(idOf(line));
      if (ids.length >= CHUNK) await flush();
    }
    if (ids.length > 0) await flush();
  } finally {
    await producer.close();
  }
  return 0;
}
