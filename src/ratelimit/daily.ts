/** Length of HubSpot's daily budget period. */
export const DAY_MS = 86_400_000;

/**
 * The next instant HubSpot's daily budget resets, strictly after `now` (epoch ms).
 *
 * HubSpot resets the daily limit at midnight in the account's time zone. Time zones are not modelled: the
 * default anchor `0` gives midnight UTC; an account on another fixed offset passes any past or future instant
 * at which its day rolls over (e.g. `Date.UTC(2026, 0, 1, 5)` for UTC-5), and resets repeat every 24 h from
 * that anchor. Daylight-saving shifts are not followed, so keep a `dailyReserve` to cover the hour.
 */
export function nextDailyResetMs(now: number, anchorMs = 0): number {
  return anchorMs + (Math.floor((now - anchorMs) / DAY_MS) + 1) * DAY_MS;
}

/**
 * The reset anchor of an account whose time zone is `utcOffsetMinutes` east of UTC (e.g. -300 for UTC-05:00):
 * its day rolls over at local midnight, `utcOffsetMinutes` before midnight UTC. For {@link nextDailyResetMs} and
 * the limiter's `dailyResetAt`.
 */
export function dailyResetAnchorMs(utcOffsetMinutes: number): number {
  return -utcOffsetMinutes * 60_000;
}
