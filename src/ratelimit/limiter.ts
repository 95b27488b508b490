import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RateLimitSnapshot } from '../hubspot/port.js';
import type { QueueKeys } from '../keys.js';
import {
  type AccountBudget,
  type AcquireResult,
  assertValidBudget,
  type BudgetPort,
  type Grant,
  type PauseInForce,
  type PauseOptions,
  type RateLimitState,
  type WaitReason,
} from './budget.js';
import { ClockOffset } from './clock-offset.js';
import { DEFAULT_GAINS, type SmoothingGains } from './estimate.js';
import { readState, runAcquire, runPause, runReport, runResume, type ScriptTuning } from './scripts.js';
import { waitForGrant } from './wait.js';

/**
 * Default lateness a grant may have after its slot and still take it (at most one interval): the wake-up of a
 * sleeping caller, a busy event loop, the request leaving. It costs `lag / (window + margin)` of the limit.
 */
export const DEFAULT_LAG_MS = 20;

/**
 * Default age of a missed slot (ms) that a caller may still take after a stall (a GC pause, a loaded host), as
 * far as the rolling window allows: the slots a stalled replica missed are made up instead of lost.
 */
export const DEFAULT_CATCH_UP_MS = 0;

/** Departures this close to their grant (ms) are not recorded. */
const DEPARTURE_SLACK_MS = 2;

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  redis: Redis;
  keys: QueueKeys;
  /**
   * Added to HubSpot's window: the largest spread of the delay between a grant and its arrival at HubSpot.
   * Default: 1% of the window + 10 ms. Steady demand gets `window / (window + margin)` of the limit.
   */
  marginMs?: number;
  logger?: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /** Called after every sleep of {@link RateLimiter.waitForGrant} with the time actually slept, for metrics. */
  onWait?: (account: string, ms: number, reason: WaitReason) => void;
  /** Share of the pacing interval two grants must at least be apart. Default 0.25. */
  spacingFactor?: number;
  /**
   * How late after its slot a grant may come and still take it (ms, at most one interval). Slots are anchored: a
   * caller that wakes late (a busy event loop, a batch still being prepared) keeps its slot and the schedule does
   * not move, so lateness is never carried into later windows. Default {@link DEFAULT_LAG_MS}.
   */
  lagMs?: number;
  /** See {@link DEFAULT_CATCH_UP_MS}. */
  catchUpMs?: number;
  /** Longest sleep of `waitForGrant` while paused, so a `resume` from another replica is seen. Default 1 s. */
  pauseRecheckMs?: number;
  /** Outside usage smoothing gains; see `smoothOutsideUsage`. */
  gains?: SmoothingGains;
  /** Replaces Redis's clock (ms), for simulations and tests only: every replica must use the same one. */
  now?: () => number;
}

/**
 * HubSpot's rate budget of each account, shared by every replica through Redis.
 *
 * Each decision is one Lua call on Redis's clock (see `lua/acquire.lua`). Guarantees: never more than
 * `effectiveMax` grants in any rolling `windowMs + marginMs`, so, as long as calls reach HubSpot within
 * `marginMs` of each other's delays, never more than the max in HubSpot's rolling window; grants on an anchored
 * schedule of slots `(windowMs + marginMs + lagMs) / effectiveMax` apart, which a caller up to `lagMs` late keeps;
 * the daily budget minus its reserve; pauses honoured by all.
 */
export class RateLimiter implements BudgetPort {
  readonly #redis: Redis;
  readonly #keys: QueueKeys;
  readonly #tuning: ScriptTuning;
  readonly #logger: RateLimiterOptions['logger'];
  readonly #onWait: RateLimiterOptions['onWait'];
  readonly #pauseRecheckMs: number;
  readonly #now: (() => number) | undefined;
  readonly #offset = new ClockOffset();

  constructor(options: RateLimiterOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#tuning = {
      marginMs: options.marginMs,
      spacingFactor: options.spacingFactor ?? 0.25,
      lagMs: options.lagMs ?? DEFAULT_LAG_MS,
      catchUpMs: options.catchUpMs ?? DEFAULT_CATCH_UP_MS,
      gains: options.gains ?? DEFAULT_GAINS,
    };
    this.#logger = options.logger;
    this.#onWait = options.onWait;
    this.#pauseRecheckMs = options.pauseRecheckMs ?? 1000;
    this.#now = options.now;
    const { marginMs, spacingFactor, lagMs } = this.#tuning;
    if (marginMs !== undefined && !(marginMs >= 0)) throw new RangeError('marginMs must be >= 0');
    if (!(spacingFactor >= 0 && spacingFactor <= 1)) throw new RangeError('spacingFactor must be in [0, 1]');
    if (!(lagMs >= 0)) throw new RangeError('lagMs must be >= 0');
  }

  /**
   * Takes one call of the account's budget now, or says exactly how long until one is free. One Lua call. With
   * `reserveMs`, a slot that opens within that long is taken now for its time: the grant's `at` / `localAt` lie
   * ahead, and the call must not leave before `localAt`.
   */
  async acquire(account: string, budget: AccountBudget, reserveMs = 0): Promise<AcquireResult> {
    return this.#acquire(account, budget, false, reserveMs);
  }

  /**
   * Says whether a call could be granted now, or how long until one could, without taking it: for deciding
   * whether to prepare a batch. `granted` results carry no usable grant.
   */
  async peek(account: string, budget: AccountBudget): Promise<AcquireResult> {
    return this.#acquire(account, budget, true);
  }

  async #acquire(
    account: string,
    budget: AccountBudget,
    lookOnly: boolean,
    reserveMs = 0,
  ): Promise<AcquireResult> {
    assertValidBudget(budget);
    const rate = this.#keys.rate(account);
    const grantId = randomUUID();
    const askedAt = Date.now();
    const reply = await runAcquire(this.#redis, rate, budget, this.#tuning, this.#clock(), {
      grantId,
      lookOnly,
      reserveMs,
    });
    if (!reply.granted) return reply;
    const { at, redisNow } = reply;
    const receivedAt = Date.now();
    const offset = this.#offset.observe(receivedAt - redisNow, receivedAt);
    const nowLocal = Math.min(receivedAt, Math.max(askedAt, redisNow + offset));
    // A reserved slot lies ahead by exactly as much on either clock.
    return { granted: true, grantId, at, localAt: nowLocal + Math.max(0, at - redisNow) };
  }

  /**
   * Feeds back HubSpot's rate-limit headers of one answer: records them for status and metrics, adapts the
   * outside-usage estimate (which lowers effectiveMax), and anchors the daily budget to Daily-Remaining.
   * `grant` is the grant the call was sent under, when it had one.
   */
  async report(
    account: string,
    grant: { grantId: string; at: number } | undefined,
    snapshot: RateLimitSnapshot,
    budget: AccountBudget,
    call: { rejected?: boolean } = {},
  ): Promise<void> {
    const outside = await runReport(this.#redis, this.#keys.rate(account), this.#tuning, this.#clock(), {
      grant,
      snapshot,
      budget,
      rejected: call.rejected === true,
    });
    if (outside) this.#logger?.debug({ account, ...outside }, 'outside API usage');
  }

  /**
   * Records when a granted call really left (local time `sentAt`). The window counts a call at its grant; one
   * that left later (a cold start, a busy event loop, a slow connect) is moved in the log to its departure on
   * Redis's clock, `at + (sentAt - localAt)`, so that the whole margin is left for the network's jitter. Moving a
   * call later is always safe for the calls granted after it, and this must happen within a window of the grant,
   * which it does: it runs as soon as the request is out. Resolves true when the grant was moved.
   */
  async departed(
    account: string,
    grant: { grantId: string; at: number; localAt: number },
    sentAt: number,
  ): Promise<boolean> {
    const lateMs = sentAt - grant.localAt;
    // A call that left within a millisecond or two is where it was granted; sparing those saves a round trip.
    if (!(lateMs > DEPARTURE_SLACK_MS)) return false;
    const moved = await this.#redis.zadd(
      this.#keys.rate(account).log,
      'XX',
      'GT',
      'CH',
      Math.ceil(grant.at + lateMs),
      grant.grantId,
    );
    return moved === 1;
  }

  /**
   * Pauses the account for every replica, on Redis's clock. A pause already in force that ends later is kept;
   * resolves with the pause in force afterwards.
   */
  async pause(account: string, options: PauseOptions): Promise<PauseInForce> {
    const { durationMs, untilMs, untilDailyReset } = options;
    const given = [durationMs, untilMs, untilDailyReset].filter((v) => v !== undefined).length;
    if (given !== 1)
      throw new RangeError('pause needs exactly one of durationMs, untilMs and untilDailyReset');
    const value = durationMs ?? untilMs ?? untilDailyReset?.anchorMs ?? 0;
    if (!Number.isFinite(value)) throw new RangeError('pause durationMs/untilMs/anchorMs must be finite');
    const { inForce, storedReason } = await runPause(
      this.#redis,
      this.#keys.rate(account),
      options,
      this.#clock(),
    );
    // Callers log the cause; this records which pause ended up in force when several overlap.
    this.#logger?.debug(
      { account, reason: storedReason, pausedUntil: inForce.untilMs, requested: options.reason },
      'rate limiter pause',
    );
    return inForce;
  }

  /**
   * Lifts the account's pause, whatever its reason, for every replica. A daily stop is lifted for the rest of
   * the day: the configured daily budget counts again from now, and HubSpot's last reported Daily-Remaining is
   * forgotten until the next answer reports it (see `lua/resume.lua`).
   */
  async resume(account: string): Promise<void> {
    await runResume(this.#redis, this.#keys.rate(account));
    this.#logger?.info({ account }, 'rate limiter resumed');
  }

  /**
   * The account's state for status and gauges. `effectiveMax` uses `budget` when given, else the budget of the
   * last acquire (0 before any).
   */
  async state(account: string, budget?: AccountBudget): Promise<RateLimitState> {
    return readState(this.#redis, this.#keys.rate(account), this.#clock(), budget);
  }

  /**
   * Acquires, sleeping the exact wait plus a little jitter so replicas do not stampede when a slot opens (see
   * `wait.ts`). Rejects with the signal's reason when aborted, and with `BudgetPausedError` when the account is
   * paused (or out of daily budget) for longer than `options.maxPauseMs`. With `options.reserveMs` it resolves as
   * soon as it could reserve a slot opening within that long: the caller then sends at the grant's `localAt`, not
   * before. `options.recordWait: false` keeps its sleeps out of `onWait` (a property-schema fetch's wait is not a
   * batch's wait for its call).
   */
  async waitForGrant(
    account: string,
    budget: AccountBudget,
    signal?: AbortSignal,
    options: { maxPauseMs?: number; reserveMs?: number; recordWait?: boolean } = {},
  ): Promise<Grant> {
    const { recordWait = true, ...wait } = options;
    return waitForGrant(account, {
      acquire: (reserveMs) => this.acquire(account, budget, reserveMs),
      pauseRecheckMs: this.#pauseRecheckMs,
      onSlept: (ms, reason) => {
        if (recordWait) this.#reportWait(account, ms, reason);
      },
      ...(signal ? { signal } : {}),
      ...wait,
    });
  }

  #reportWait(account: string, ms: number, reason: WaitReason): void {
    try {
      this.#onWait?.(account, ms, reason);
    } catch (error) {
      // A metrics callback must not break sending.
      this.#logger?.warn({ account, err: error }, 'onWait failed');
    }
  }

  #clock(): number | '' {
    return this.#now ? Math.floor(this.#now()) : '';
  }
}
