import type { Config } from '../config.js';
import { queueKeys } from '../keys.js';
import { RateLimiter } from '../ratelimit/limiter.js';
import { connectRedis } from '../redis.js';
import { QueueStore } from '../worker/store.js';
import { parseArgs, stringOption } from './args.js';

/**
 * `fail-account --account A [--reason TEXT]`: an operator fails every update of an account that waits to be
 * sent, typically after its credentials were revoked for good (a 401 only pauses the account). The updates can
 * be replayed later with `retry-failed --account A`.
 */
export async function runFailAccount(args: string[], config: Config): Promise<number> {
  const { options } = parseArgs(args);
  const account = stringOption(options, 'account');
  if (!account) {
    process.stderr.write('usage: fail-account --account NAME [--reason TEXT]\n');
    return 2;
  }
  const reason =
    stringOption(options, 'reason') ?? `failed by an operator: account "${account}" is not usable`;
  const redis = connectRedis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    const store = new QueueStore({
      redis,
      keys: queueKeys(config.QUEUE_NAME),
      outcomeTtlSeconds: config.OUTCOME_TTL_SECONDS,
    });
    const n = await store.failAccount(account, reason);
    process.stdout.write(`${JSON.stringify({ account, failed: n })}\n`);
  } finally {
    await redis.quit();
  }
  return 0;
}

/** `resume-account --account A`: lifts an account's pause (e.g. once its credentials work again) on every replica. */
export async function runResumeAccount(args: string[], config: Config): Promise<number> {
  const account = stringOption(parseArgs(args).options, 'account');
  if (!account) {
    process.stderr.write('usage: resume-account --account NAME\n');
    return 2;
  }
  const redis = connectRedis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    await new RateLimiter({ redis, keys: queueKeys(config.QUEUE_NAME) }).resume(account);
    process.stdout.write(`${JSON.stringify({ account, resumed: true })}\n`);
  } finally {
    await redis.quit();
  }
  return 0;
}
