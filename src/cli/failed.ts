import type { Config } from '../config.js';
import type { FailedFilter } from '../outcomes/dead-letters.js';
import { createProducer } from '../producer/producer.js';
import { parseArgs, stringOption } from './args.js';
import { write } from './io.js';

function filterOf(args: string[]): FailedFilter {
  const { options } = parseArgs(args);
  const limit = stringOption(options, 'limit');
  const account = stringOption(options, 'account');
  const objectType = stringOption(options, 'object-type');
  const category = stringOption(options, 'category');
  return {
    ...(account ? { account } : {}),
    ...(objectType ? { objectType } : {}),
    ...(category ? { category } : {}),
    ...(limit ? { limit: Number(limit) } : {}),
  };
}

/** `failed [--account A] [--object-type T] [--category C] [--limit N]`: failed outcomes as NDJSON, newest first. */
export async function runFailed(args: string[], config: Config): Promise<number> {
  const producer = createProducer({ redis: config.REDIS_URL, queueName: config.QUEUE_NAME });
  try {
    for (const o of await producer.listFailed(filterOf(args)))
      await write(process.stdout, `${JSON.stringify(o)}\n`);
  } finally {
    await producer.close();
  }
  return 0;
}

/** `retry-failed` with the same filters: replays matching failed updates; prints the replayed trace ids. */
export async function runRetryFailed(args: string[], config: Config): Promise<number> {
  const producer = createProducer({ redis: config.REDIS_URL, queueName: config.QUEUE_NAME });
  try {
    const ids = await producer.retryFailed(filterOf(args));
    for (const id of ids) await write(process.stdout, `${JSON.stringify({ objectWriteTraceId: id })}\n`);
    process.stderr.write(`${ids.length} failed update(s) put back in the queue\n`);
  } finally {
    await producer.close();
  }
  return 0;
}
