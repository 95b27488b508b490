import { performance } from 'node:perf_hooks';
import { accountDay, nextDailyReset } from './clock.js';
import { PolicyName, type WindowPolicyName } from './types.js';

/** The rate budget of one portal (one app in one HubSpot account). */
export interface RateLimitConfig {
  maxRequests: number;
  windowMs: number;
  /** Calls per account day, or null for none (public OAuth apps): their answers omit the Daily headers. */
  dailyLimit: number | null;
  /**
   * The account's time zone as minutes east of UTC (e.g. -300 for UTC-05:00, 330 for UTC+05:30): the daily
   * count starts afresh at local midnight. Default 0 (midnight UTC). A fixed offset: daylight saving is not
   * modelled.
   */
  dailyResetUtcOffsetMinutes?: number;
  /**
   * TEN_SECONDLY_ROLLING: one rolling window. SECONDLY (older keys): the same window plus a rolling window of
   * a tenth of its length and a tenth of its calls, as observed (Secondly = Max / 10).
   */
  policyName: WindowPolicyName;
}

/** Arrival times inside a rolling window; an arrival exactly `windowMs` old has left it. */
class RollingWindow {
  private times: number[] = [];
  private head = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  count(now: number): number {
    while (this.head < this.times.length && (this.times[this.head] as number) <= now - this.windowMs) {
      this.head += 1;
    }
    // Compact now and then so a long benchmark does not keep every arrival.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  add(now: number): void {
    this.times.push(now);
  }

  /** Milliseconds until the oldest arrival leaves the window. */
  msUntilSlot(now: number): number {
    const oldest = this.times[this.head];
    return oldest === undefined ? 0 : Math.max(0, oldest + this.windowMs - now);
  }
}

/** The verdict on one arrival. */
export type Admission = { allowed: true } | { allowed: false; policyName: PolicyName; retryAfterMs: number };

/**
 * Counts every arrival at arrival time (refused ones too, as HubSpot does) and answers whether the portal's
 * budget still had room for it.
 */
export class PortalBudget {
  private window: RollingWindow;
  private secondly: RollingWindow | undefined;
  private readonly resetOffsetMinutes: number;
  private day: number;
  private dailyCount = 0;
  /** The most arrivals the main window ever held. */
  maxInWindow = 0;

  /**
   * @param wallClock the simulator's wall clock, which decides when the day rolls over; the rolling windows
   *   take monotonic times instead.
   */
  constructor(
    readonly config: RateLimitConfig,
    private readonly wallClock: () => number = Date.now,
  ) {
    this.window = new RollingWindow(config.maxRequests, config.windowMs);
    this.secondly = this.makeSecondly();
    this.resetOffsetMinutes = config.dailyResetUtcOffsetMinutes ?? 0;
    this.day = accountDay(wallClock(), this.resetOffsetMinutes);
  }

  private makeSecondly(): RollingWindow | undefined {
    const { policyName, maxRequests, windowMs } = this.config;
    if (policyName !== PolicyName.secondly) return undefined;
    return new RollingWindow(
      Math.max(1, Math.floor(maxRequests / 10)),
      Math.max(1, Math.floor(windowMs / 10)),
    );
  }

  /** Forgets every arrival (simulator reset). */
  clear(): void {
    this.window = new RollingWindow(this.config.maxRequests, this.config.windowMs);
    this.secondly = this.makeSecondly();
    this.dailyCount = 0;
    this.maxInWindow = 0;
  }

  /** Counts one arrival and says whether it was within budget. */
  arrive(now = performance.now(), wallMs = this.wallClock()): Admission {
    this.rollDay(wallMs);
    const { dailyLimit } = this.config;
    let admission: Admission = { allowed: true };
    if (dailyLimit !== null && this.dailyCount >= dailyLimit) {
      const msToReset = nextDailyReset(wallMs, this.resetOffsetMinutes) - wallMs;
      admission = { allowed: false, policyName: PolicyName.daily, retryAfterMs: msToReset };
    } else if (this.window.count(now) >= this.window.limit) {
      admission = {
        allowed: false,
        policyName: PolicyName.tenSecondlyRolling,
        retryAfterMs: this.window.msUntilSlot(now),
      };
    } else if (this.secondly && this.secondly.count(now) >= this.secondly.limit) {
      admission = {
        allowed: false,
        policyName: PolicyName.secondly,
        retryAfterMs: this.secondly.msUntilSlot(now),
      };
    }
    this.window.add(now);
    this.secondly?.add(now);
    this.dailyCount += 1;
    this.maxInWindow = Math.max(this.maxInWindow, this.window.count(now));
    return admission;
  }

  /** HubSpot's rate-limit headers describing the budget now (after any arrival just counted). */
  headers(now = performance.now(), wallMs = this.wallClock()): Record<string, string> {
    this.rollDay(wallMs);
    const { maxRequests, windowMs, dailyLimit } = this.config;
    const headers: Record<string, string> = {
      'X-HubSpot-RateLimit-Max': String(maxRequests),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, maxRequests - this.window.count(now))),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(windowMs),
    };
    if (dailyLimit !== null) {
      headers['X-HubSpot-RateLimit-Daily'] = String(dailyLimit);
      headers['X-HubSpot-RateLimit-Daily-Remaining'] = String(Math.max(0, dailyLimit - this.dailyCount));
    }
    if (this.secondly) {
      headers['X-HubSpot-RateLimit-Secondly'] = String(this.secondly.limit);
      headers['X-HubSpot-RateLimit-Secondly-Remaining'] = String(
        Math.max(0, this.secondly.limit - this.secondly.count(now)),
      );
    }
    return headers;
  }

  /** A day boundary crossed either way (the clock may be moved back) starts a fresh daily count. */
  private rollDay(wallMs: number): void {
    const day = accountDay(wallMs, this.resetOffsetMinutes);
    if (day !== this.day) {
      this.day = day;
      this.dailyCount = 0;
    }
  }
}
