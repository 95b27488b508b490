import type { Redis } from 'ioredis';
import type { RateLimitSnapshot } from '../hubspot/port.js';
import type { RateKeys } from '../keys.js';
import { luaScript } from '../lua.js';
import {
  type AccountBudget,
  type PauseInForce,
  type PauseOptions,
  PauseReason,
  type RateLimitState,
  type Wait,
  WaitReason,
} from './budget.js';
import { defaultMarginMs, type SmoothingGains } from './estimate.js';
import { parseRateLimitState } from './state.js';

/**
 * The rate limiter's Lua scripts as typed calls: each one passes its script's ARGV in the order the script's
 * header names them and decodes its reply. `clock` is the time (ms) to use instead of Redis's clock, or `''` for
 * Redis's own (every replica must use the same one).
 */

const acquireScript = luaScript('rl_acquire', new URL('./lua/acquire.lua', import.meta.url));
const reportScript = luaScript('rl_report', new URL('./lua/report.lua', import.meta.url));
const pauseScript = luaScript('rl_pause', new URL('./lua/pause.lua', import.meta.url));
const stateScript = luaScript('rl_state', new URL('./lua/state.lua', import.meta.url));
const resumeScript = luaScript('rl_resume', new URL('./lua/resume.lua', import.meta.url));

/**
 * A DAILY 429, or a Daily-Remaining leaving nothing, within this long after the daily reset we expected means
 * HubSpot's clock is a little behind ours (its day has not rolled over yet), not that the new day's budget is
 * gone: the account probes (one call at a time, {@link DAILY_PROBE_DELAY_MS} apart) until HubSpot's answers show
 * the new day, instead of stopping until the next reset a day later.
 */
export const DAILY_RESET_GRACE_MS = 5 * 60_000;
/** The pause before the next probe after a DAILY 429 (or an exhausted Daily-Remaining) within {@link DAILY_RESET_GRACE_MS} of the reset. */
export const DAILY_PROBE_DELAY_MS = 1000;

/** Grants stay in the log this long past the guarded window, so a slow call's report can still be compared. */
const retentionMs = (windowMs: number) => 2 * windowMs + 60_000;

/** The limiter's settings that the scripts take along with each call. */
export interface ScriptTuning {
  /** `undefined` for the scripts' default margin (see `defaultMarginMs`). */
  marginMs: number | undefined;
  spacingFactor: number;
  lagMs: number;
  catchUpMs: number;
  gains: SmoothingGains;
}

/** The reply of acquire.lua: a grant at `at` (Redis's clock, read at `redisNow`), or how long to wait. */
export type AcquireReply = { granted: true; at: number; redisNow: number } | Wait;

/** Runs acquire.lua: takes (or, with `lookOnly`, only looks for) one call of the account's budget. */
export async function runAcquire(
  redis: Redis,
  rate: RateKeys,
  budget: AccountBudget,
  tuning: ScriptTuning,
  clock: number | '',
  call: { grantId: string; lookOnly: boolean; reserveMs: number },
): Promise<AcquireReply> {
  const reply = (await acquireScript.run(
    redis,
    [rate.log, rate.state],
    [
      call.grantId,
      budget.maxRequests,
      budget.windowMs,
      tuning.marginMs ?? '',
      budget.dailyLimit ?? '',
      budget.dailyReserve ?? 0,
      budget.dailyResetAt ?? 0,
      tuning.spacingFactor,
      tuning.lagMs,
      retentionMs(budget.windowMs),
      clock,
      call.lookOnly ? '1' : '0',
      tuning.catchUpMs,
      call.reserveMs,
      DAILY_RESET_GRACE_MS,
    ],
  )) as [number, number, (string | number)?];
  if (reply[0] === 1) {
    const at = Number(reply[1]);
    return { granted: true, at, redisNow: Number(reply[2] ?? at) };
  }
  const reason = reply[2] === 'paused' || reply[2] === 'daily' ? reply[2] : WaitReason.window;
  return { granted: false, waitMs: Math.max(1, Number(reply[1])), reason };
}

/**
 * Runs report.lua with HubSpot's rate-limit headers of one answer. Resolves with the outside-usage sample and
 * the new estimate when the answer showed calls that were not ours, else `undefined`.
 */
export async function runReport(
  redis: Redis,
  rate: RateKeys,
  tuning: ScriptTuning,
  clock: number | '',
  call: {
    grant: { grantId: string; at: number } | undefined;
    snapshot: RateLimitSnapshot;
    budget: AccountBudget;
    rejected: boolean;
  },
): Promise<{ sample: number; estimate: number } | undefined> {
  const { grant, snapshot, budget } = call;
  const n = (v: number | undefined) => (v !== undefined && Number.isFinite(v) && v >= 0 ? v : '');
  const reply = (await reportScript.run(
    redis,
    [rate.log, rate.state],
    [
      grant?.at ?? '',
      n(snapshot.max),
      n(snapshot.remaining),
      snapshot.intervalMs !== undefined && snapshot.intervalMs > 0 ? n(snapshot.intervalMs) : '',
      n(snapshot.daily),
      n(snapshot.dailyRemaining),
      budget.windowMs,
      budget.dailyResetAt ?? 0,
      tuning.gains.up,
      tuning.gains.down,
      retentionMs(budget.windowMs),
      clock,
      call.rejected ? '1' : '0',
      tuning.marginMs ?? defaultMarginMs(budget.windowMs),
      snapshot.secondly !== undefined && snapshot.secondly > 0 ? n(snapshot.secondly) : '',
      DAILY_RESET_GRACE_MS,
      budget.dailyReserve ?? 0,
      grant?.grantId ?? '',
      DAILY_PROBE_DELAY_MS,
    ],
  )) as [string, string];
  if (reply[0] !== '' && Number(reply[0]) > 0)
    return { sample: Number(reply[0]), estimate: Number(reply[1]) };
  return undefined;
}

/**
 * Runs pause.lua. Resolves with the pause in force afterwards, and its reason as the script stored it (`''`
 * when none is in force).
 */
export async function runPause(
  redis: Redis,
  rate: RateKeys,
  options: PauseOptions,
  clock: number | '',
): Promise<{ inForce: PauseInForce; storedReason: string }> {
  const { durationMs, untilMs, untilDailyReset } = options;
  const reply = (await pauseScript.run(
    redis,
    [rate.state],
    [
      durationMs ?? '',
      untilMs ?? '',
      options.reason,
      options.policyName ?? '',
      options.detail ?? '',
      clock,
      untilDailyReset ? Math.floor(untilDailyReset.anchorMs) : '',
      DAILY_RESET_GRACE_MS,
      DAILY_PROBE_DELAY_MS,
    ],
  )) as [number, string, number];
  const end = Number(reply[0]);
  const reason = Object.values(PauseReason).find((r) => r === reply[1]);
  return {
    inForce: {
      untilMs: end,
      ...(reason ? { reason } : {}),
      ms: end > 0 ? Math.max(0, end - Number(reply[2])) : 0,
    },
    storedReason: reply[1],
  };
}

/** Runs resume.lua: lifts the account's pause, whatever its reason. */
export async function runResume(redis: Redis, rate: RateKeys): Promise<void> {
  await resumeScript.run(redis, [rate.state], []);
}

/** Runs state.lua and reads its reply; `budget` overrides the budget remembered from the last acquire. */
export async function readState(
  redis: Redis,
  rate: RateKeys,
  clock: number | '',
  budget?: AccountBudget,
): Promise<RateLimitState> {
  const reply = await stateScript.run(redis, [rate.log, rate.state], [clock]);
  return parseRateLimitState(reply, budget);
}
