import type { Config } from '../config.js';
import { createProducer } from '../producer/producer.js';
import { renderExplanation } from '../story/render.js';
import { write } from './io.js';
import { parseCommandArgs, UsageError } from './usage.js';

/** What `explain` was asked. */
export interface ExplainRequest {
  traceId: string;
  json: boolean;
}

/** `explain <traceId> [--json]`; throws {@link UsageError} for an unknown flag, a missing or malformed trace id. */
export function parseExplainArgs(args: string[]): ExplainRequest {
  const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } }, 1);
  const [traceId] = positionals;
  if (traceId === undefined) throw new UsageError('a trace id is required');
  if (!/^[^\s:|]{1,128}$/.test(traceId)) {
    throw new UsageError(
      `"${traceId}" is not a trace id (at most 128 characters, no whitespace, ":" or "|")`,
    );
  }
  return { traceId, json: values.json === true };
}

/**
 * Prints one update's story: as text, or as one JSON object with `--json`. Exits 1 for a trace id never seen
 * (after printing that it was never seen), 0 otherwise.
 */
export async function runExplain(request: ExplainRequest, config: Config): Promise<number> {
  const producer = createProducer({
    redis: config.REDIS_URL,
    queueName: config.QUEUE_NAME,
    shards: config.QUEUE_SHARDS,
  });
  try {
    const explanation = await producer.explain(request.traceId);
    const text = request.json ? `${JSON.stringify(explanation)}\n` : renderExplanation(explanation);
    await write(process.stdout, text);
    return explanation.seen ? 0 : 1;
  } finally {
    await producer.close();
  }
}
