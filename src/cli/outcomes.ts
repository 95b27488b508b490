import type { Config } from '../config.js';
import { createProducer } from '../producer/producer.js';
import { readLines, write } from './io.js';
import { parseCommandArgs, UsageError } from './usage.js';

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

/** What `outcomes` was asked: ids to look up, or to follow the stream of outcomes as one consumer of a group. */
export type OutcomesRequest =
  | { kind: 'lookup'; source: string | undefined }
  | { kind: 'follow'; group: string; consumer?: string; startAt: 'new' | 'oldest' };

/**
 * `outcomes [FILE|-]` or `outcomes --follow [--group G] [--consumer C] [--from-oldest]`; throws {@link UsageError}
 * for a flag it does not know, `--group`/`--consumer`/`--from-oldest` without `--follow`, or an input with it.
 */
export function parseOutcomesArgs(args: string[]): OutcomesRequest {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      follow: { type: 'boolean' },
      group: { type: 'string' },
      consumer: { type: 'string' },
      'from-oldest': { type: 'boolean' },
    },
    1,
  );
  if (!values.follow) {
    const stray = ['group', 'consumer', 'from-oldest'].find(
      (f) => values[f as keyof typeof values] !== undefined,
    );
    if (stray) throw new UsageError(`--${stray} needs --follow`);
    return { kind: 'lookup', source: positionals[0] };
  }
  if (positionals.length > 0) throw new UsageError('--follow reads the stream of outcomes, not an input');
  for (const name of ['group', 'consumer'] as const) {
    if (values[name] !== undefined && !/^[\w.:-]{1,100}$/.test(values[name])) {
      throw new UsageError(`--${name} expects a name of letters, digits, . : _ -, got "${values[name]}"`);
    }
  }
  return {
    kind: 'follow',
    group: values.group ?? 'cli',
    ...(values.consumer !== undefined ? { consumer: values.consumer } : {}),
    startAt: values['from-oldest'] ? 'oldest' : 'new',
  };
}

/**
 * Prints every terminal outcome as NDJSON as it happens, as one consumer of the group, acknowledging each entry
 * once written; until SIGINT/SIGTERM (or `signal`). What was printed and not yet acknowledged when it stopped is
 * printed again by the next consumer of the group (at least once).
 */
async function follow(
  request: Extract<OutcomesRequest, { kind: 'follow' }>,
  config: Config,
  signal?: AbortSignal,
): Promise<number> {
  const producer = createProducer({
    redis: config.REDIS_URL,
    queueName: config.QUEUE_NAME,
    shards: config.QUEUE_SHARDS,
  });
  const subscription = producer.subscribeOutcomes({
    group: request.group,
    ...(request.consumer !== undefined ? { consumer: request.consumer } : {}),
    startAt: request.startAt,
    handler: (outcomes) => write(process.stdout, outcomes.map((o) => `${JSON.stringify(o)}\n`).join('')),
    onError: (err) =>
      process.stderr.write(`outcomes --follow: ${err instanceof Error ? err.message : String(err)}\n`),
  });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  await subscription.close();
  await producer.close();
  return 0;
}

/**
 * `outcomes [FILE|-]`: one trace id per line, or NDJSON lines with `objectWriteTraceId` (such as the output of
 * `enqueue`); prints one NDJSON outcome per id in order, `null` for an id never seen.
 */
export async function runOutcomes(
  request: OutcomesRequest,
  config: Config,
  signal?: AbortSignal,
): Promise<number> {
  if (request.kind === 'follow') return follow(request, config, signal);
  const producer = createProducer({
    redis: config.REDIS_URL,
    queueName: config.QUEUE_NAME,
    shards: config.QUEUE_SHARDS,
  });
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
