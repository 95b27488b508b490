import { performance } from 'node:perf_hooks';
import { type AcquireResult, type Grant, WaitReason } from './budget.js';
import { abortableSleep } from './sleep.js';

/**
 * Most jitter added to a wait (ms), so replicas waiting for the same slot do not all ask at once. Kept small: a
 * caller later than the schedule's lag forfeits its slot.
 */
const WAKE_JITTER_MS = 2;

/** The account is paused (or out of daily budget) for longer than the caller would wait. */
export class BudgetPausedError extends Error {
  readonly code = 'BUDGET_PAUSED';
  constructor(
    readonly account: string,
    readonly reason: WaitReason,
    readonly waitMs: number,
  ) {
    super(`account "${account}" is paused (${reason}) for ${Math.ceil(waitMs)} ms`);
    this.name = 'BudgetPausedError';
  }
}

/** How {@link waitForGrant} asks and sleeps. */
export interface WaitOptions {
  /** One acquire, reserving a slot that opens within `reserveMs`. */
  acquire: (reserveMs: number) => Promise<AcquireResult>;
  /** Longest sleep while paused, so a `resume` from another replica is seen. */
  pauseRecheckMs: number;
  /** Told after every sleep how long it really lasted. */
  onSlept: (ms: number, reason: WaitReason) => void;
  signal?: AbortSignal;
  /** Longest pause waited out; a longer one rejects with {@link BudgetPausedError}. */
  maxPauseMs?: number;
  reserveMs?: number;
}

/**
 * Acquires until granted, sleeping the exact wait plus a little jitter (0..min(2 ms, 5% of the wait)) so replicas
 * do not stampede when a slot opens. Rejects with the signal's reason when aborted, and with
 * {@link BudgetPausedError} when the account is paused (or out of daily budget) for longer than `maxPauseMs`.
 * With `reserveMs` it asks again as soon as the slot is within reach, which reserves it.
 */
export async function waitForGrant(account: string, options: WaitOptions): Promise<Grant> {
  const { signal, maxPauseMs, reserveMs } = options;
  for (;;) {
    if (signal?.aborted) throw signal.reason;
    const result = await options.acquire(reserveMs ?? 0);
    if (result.granted) return result;
    if (result.reason !== WaitReason.window && maxPauseMs !== undefined && result.waitMs > maxPauseMs) {
      throw new BudgetPausedError(account, result.reason, result.waitMs);
    }
    let ms = result.waitMs + Math.random() * Math.min(WAKE_JITTER_MS, result.waitMs * 0.05);
    if (result.reason !== WaitReason.window) ms = Math.min(ms, options.pauseRecheckMs);
    // Asking again once the slot is within reach reserves it, well before its time.
    else if (reserveMs) ms = Math.max(1, result.waitMs - reserveMs / 2);
    const started = performance.now();
    try {
      await abortableSleep(ms, signal);
    } finally {
      options.onSlept(performance.now() - started, result.reason);
    }
  }
}
