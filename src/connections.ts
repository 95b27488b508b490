import type { Redis } from 'ioredis';

/** The worker was told to stop while it was still connecting. */
export class StartAbortedError extends Error {
  readonly code = 'START_ABORTED';
  constructor() {
    super('stopped before Redis answered');
    this.name = 'StartAbortedError';
  }
}

/** Redis did not become reachable before the deadline. */
export class RedisUnavailableError extends Error {
  readonly code = 'REDIS_UNAVAILABLE';
  constructor(ms: number, cause?: unknown) {
    super(
      `Redis did not answer within ${ms} ms${cause instanceof Error ? ` (last error: ${cause.message})` : ''}`,
    );
    this.name = 'RedisUnavailableError';
  }
}

/**
 * Connects a `lazyConnect` client and waits until it answers a PING, retrying with backoff (ioredis's own
 * `connect()` rejects at the first dropped connection, which a flaky network or a restarting Redis produces),
 * until `timeoutMs` has passed.
 */
export async function connectWithRetry(redis: Redis, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delayMs = 50;
  let last: unknown;
  for (;;) {
    if (signal?.aborted) throw new StartAbortedError();
    try {
      if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
      const answered = await within(Math.max(1, deadline - Date.now()), redis.ping(), signal);
      if (answered.value === 'PONG') return;
      last = answered.error ?? last;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      redis.disconnect();
      throw new RedisUnavailableError(timeoutMs, last);
    }
    await within(Math.min(delayMs, Math.max(1, deadline - Date.now())), new Promise(() => {}), signal);
    delayMs = Math.min(delayMs * 2, 2000);
  }
}

/** Quits cleanly when Redis answers within `timeoutMs`, else drops the connection. Never throws. */
export async function closeConnection(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'end') return;
  const quit = await within(
    timeoutMs,
    redis.quit().catch(() => undefined),
  );
  if (!quit.done) redis.disconnect();
}

/**
 * Drops the connection and waits at most `timeoutMs` for its socket to close: until then ioredis keeps a timer
 * that would destroy it, which outlives a close() that returned at once. Never throws.
 */
export async function dropConnection(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'end') return;
  const ended = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  redis.disconnect();
  if ((redis.status as string) !== 'end') await within(timeoutMs, ended);
}

/** Waits for `promise` at most `ms`; tells whether it settled (fulfilled with `value`, or rejected with `error`). */
export async function within<T>(
  ms: number,
  promise: Promise<T>,
  signal?: AbortSignal,
): Promise<{ done: boolean; value?: T; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  // Gives up early, unsettled, when the signal aborts.
  const timeout = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), Math.max(0, ms));
    onAbort = () => resolve({ done: false });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ done: true, value }),
        (error: unknown) => ({ done: true, error }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * A connection of its own with the same settings, for blocking reads; its errors are left to the code that
 * reads on it (ioredis reconnects by itself, and an unheard error event would be printed).
 */
export function duplicateConnection(redis: Redis): Redis {
  const copy = redis.duplicate();
  copy.on('error', () => {});
  return copy;
}
