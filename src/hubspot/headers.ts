import type { RateLimitSnapshot } from './port.js';

/**
 * HubSpot's response headers: the rate-limit headers (fed back to the limiter) and `Retry-After`. A header that
 * is missing, unparsable or out of bounds is treated as absent, never as a limit.
 */

/** Header values as Node and axios expose them: lower-case names, occasionally repeated as an array. */
export type HeaderBag = Readonly<Record<string, unknown>>;

/** The first value of a header, or `undefined`; names are matched case-insensitively. */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const raw = headers[name.toLowerCase()] ?? headers[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (typeof first === 'string') return first;
  if (typeof first === 'number') return String(first);
  return undefined;
}

function nonNegativeInt(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d{1,15}$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

const RATE_LIMIT_HEADERS = {
  max: 'x-hubspot-ratelimit-max',
  remaining: 'x-hubspot-ratelimit-remaining',
  intervalMs: 'x-hubspot-ratelimit-interval-milliseconds',
  daily: 'x-hubspot-ratelimit-daily',
  dailyRemaining: 'x-hubspot-ratelimit-daily-remaining',
  secondly: 'x-hubspot-ratelimit-secondly',
  secondlyRemaining: 'x-hubspot-ratelimit-secondly-remaining',
} as const satisfies Record<keyof RateLimitSnapshot, string>;

/**
 * The values each rate-limit header may take to be believed. HubSpot's windows are 1 s (SECONDLY) or 10 s, its
 * limits per window a few hundred at most (with capacity packs), its daily limits up to a few million. A value
 * outside these bounds is a proxy's or a bug's, not a limit: one absurd Interval (a day) would otherwise stretch
 * the window the limiter paces over and stall the account for minutes. Bounds are inclusive.
 */
export const RATE_LIMIT_HEADER_RANGES = {
  /** Calls per window. */
  max: { min: 1, max: 100_000 },
  remaining: { min: 0, max: 100_000 },
  /** The window: 100 ms to a minute. */
  intervalMs: { min: 100, max: 60_000 },
  /** Calls per day. */
  daily: { min: 1, max: 100_000_000 },
  dailyRemaining: { min: 0, max: 100_000_000 },
  /** Calls per tenth of the window (older keys' SECONDLY policy). */
  secondly: { min: 1, max: 10_000 },
  secondlyRemaining: { min: 0, max: 10_000 },
} as const satisfies Record<keyof RateLimitSnapshot, { min: number; max: number }>;

/**
 * Reads HubSpot's rate-limit headers; a missing or unparsable header, or one outside
 * {@link RATE_LIMIT_HEADER_RANGES}, is simply absent from the snapshot.
 */
export function parseRateLimitHeaders(headers: HeaderBag): RateLimitSnapshot {
  const snapshot: RateLimitSnapshot = {};
  for (const [field, header] of Object.entries(RATE_LIMIT_HEADERS) as Array<
    [keyof RateLimitSnapshot, string]
  >) {
    const value = nonNegativeInt(headerValue(headers, header));
    const range = RATE_LIMIT_HEADER_RANGES[field];
    if (value !== undefined && value >= range.min && value <= range.max) snapshot[field] = value;
  }
  return snapshot;
}

/**
 * `Retry-After` in milliseconds: delay-seconds (fractions tolerated) or an HTTP date, measured from `nowMs`.
 * A date in the past gives 0; anything unparsable gives `undefined`.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // Only date-looking text: Date.parse accepts bare numbers like "-5", which are not valid Retry-After values.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
