import { accountsOf, type Config } from '../config.js';
import { queueKeys } from '../keys.js';
import { connectRedis } from '../redis.js';
import { readStatus } from '../status/read.js';
import { renderStatus } from '../status/render.js';
import { write } from './io.js';
import { parseCommandArgs } from './usage.js';

/** `status [--json]`; throws {@link UsageError} for anything else. */
export function parseStatusArgs(args: string[]): { json: boolean } {
  return { json: parseCommandArgs(args, { json: { type: 'boolean' } }).values.json === true };
}

/**
 * `status [--json]`: queue depth by state, the oldest waiting update's age, each account's budget and pause
 * state, failures by category and live workers; aligned tables, or one JSON document with `--json`.
 */
export async function runStatus(request: { json: boolean }, config: Config): Promise<number> {
  // An operator asking for status wants an answer or an error quickly, not a client that waits out an outage.
  const redis = connectRedis(config.REDIS_URL, {
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: (attempt) => (attempt > 3 ? null : 200 * attempt),
  });
  try {
    const status = await readStatus({
      redis,
      keys: queueKeys(config.QUEUE_NAME),
      accounts: accountsOf(config),
    });
    await write(process.stdout, request.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
    return 0;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
