/**
 * The simulator's wall clock and the daily-limit calendar built on it. HubSpot's clock is not the host's: a test
 * can run the simulator ahead or behind (to stand a few hundred ms before a daily reset, or to play a host whose
 * clock is off), without waiting a day. Rolling windows never read this clock: they use a monotonic one.
 */

const DAY_MS = 86_400_000;

/** Offsets of real time zones: UTC-12:00 to UTC+14:00. */
export const MIN_UTC_OFFSET_MINUTES = -720;
export const MAX_UTC_OFFSET_MINUTES = 840;

/** Throws a RangeError naming `field` unless `offsetMs` is a safe integer. */
export function checkClockOffsetMs(field: string, offsetMs: number): number {
  if (!Number.isSafeInteger(offsetMs)) {
    throw new RangeError(`${field} must be an integer number of ms, got ${String(offsetMs)}`);
  }
  return offsetMs;
}

/** Host time plus an offset that can change at run time. */
export class SimClock {
  private offset: number;

  constructor(offsetMs = 0) {
    this.offset = checkClockOffsetMs('clockOffsetMs', offsetMs);
  }

  /** The simulator's wall clock, ms since the epoch. */
  now(): number {
    return Date.now() + this.offset;
  }

  /** How far the simulator's clock runs ahead of the host's (negative: behind). */
  offsetMs(): number {
    return this.offset;
  }

  /** Moves the clock; throws a RangeError for a non-integer offset. */
  setOffsetMs(offsetMs: number): void {
    this.offset = checkClockOffsetMs('clockOffsetMs', offsetMs);
  }
}

/** Throws a RangeError naming `field` unless `minutes` is the whole-minute offset of a real time zone. */
export function checkUtcOffsetMinutes(field: string, minutes: number): number {
  if (!Number.isInteger(minutes) || minutes < MIN_UTC_OFFSET_MINUTES || minutes > MAX_UTC_OFFSET_MINUTES) {
    throw new RangeError(
      `${field} must be an integer from ${MIN_UTC_OFFSET_MINUTES} to ${MAX_UTC_OFFSET_MINUTES}, got ${String(minutes)}`,
    );
  }
  return minutes;
}

/**
 * The number of the account's day at `wallMs`, for an account whose time zone is `utcOffsetMinutes` east of UTC
 * (e.g. -300 for UTC-05:00): days roll over at local midnight.
 */
export function accountDay(wallMs: number, utcOffsetMinutes: number): number {
  return Math.floor((wallMs + utcOffsetMinutes * 60_000) / DAY_MS);
}

/** When the account's current day ends (its next local midnight), ms since the epoch. */
export function nextDailyReset(wallMs: number, utcOffsetMinutes: number): number {
  return (accountDay(wallMs, utcOffsetMinutes) + 1) * DAY_MS - utcOffsetMinutes * 60_000;
}
