/**
 * How many batches a replica keeps in flight for an account: enough to use the account's whole rate budget
 * however slow HubSpot's answers are (Little's law: calls in flight = rate × latency), within a ceiling that
 * bounds memory. Pure bookkeeping, no I/O.
 */

/** Latency assumed for an account before any of its calls was answered (ms): generous, so a cold start is not slow. */
export const INITIAL_LATENCY_MS = 1000;
/** Weight of the newest answer in the latency average. */
const LATENCY_GAIN = 0.2;
/** In-flight calls per the Little's-law mean: latencies are long-tailed, so the count swings well above it. */
const HEADROOM = 2;
/** Extra in-flight calls on top: one waiting for its grant, one being prepared. */
const SPARE = 2;
/**
 * Batches of one account a replica claims ahead of their grant: enough that the next slot always finds one
 * prepared (one per this much of the schedule), few enough to leave later updates of the same objects to merge.
 */
const AHEAD_MS = 100;

/** One account's budget as the demand estimate needs it. */
export interface Rate {
  maxRequests: number;
  windowMs: number;
}

/** Per account, the running average latency of its HubSpot calls. */
export class CallDemand {
  readonly #latencyMs = new Map<string, number>();

  /** Records one answered call. */
  recordLatency(account: string, latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
    const previous = this.#latencyMs.get(account);
    this.#latencyMs.set(
      account,
      previous === undefined ? latencyMs : previous + LATENCY_GAIN * (latencyMs - previous),
    );
  }

  /** The average latency of the account's calls, or {@link INITIAL_LATENCY_MS} before any. */
  latencyMs(account: string): number {
    return this.#latencyMs.get(account) ?? INITIAL_LATENCY_MS;
  }

  /**
   * Batches the account needs in flight to use its whole budget: rate × latency × headroom + spare. Before any
   * of its calls was answered, one: the first answer tells the key's limits and policy (an older key's SECONDLY
   * limit, say, which a cold start's burst of calls would break before hearing of it) and how slow calls are.
   */
  target(account: string, rate: Rate): number {
    if (!this.#latencyMs.has(account)) return 1;
    return inflightTarget(rate, this.latencyMs(account));
  }
}

/** See {@link CallDemand.target}. */
export function inflightTarget(rate: Rate, latencyMs: number): number {
  const perMs = rate.maxRequests / rate.windowMs;
  return Math.ceil(perMs * latencyMs * HEADROOM) + SPARE;
}

/** Batches of the account claimed ahead of their grant (see {@link AHEAD_MS}); at least one. */
export function aheadTarget(rate: Rate): number {
  return Math.max(1, Math.ceil(AHEAD_MS / (rate.windowMs / rate.maxRequests)));
}

/**
 * The most batches an account may have in flight on this replica now: its own target, capped by the ceiling;
 * while other accounts also have work, at least an even share of the ceiling stays theirs. When other accounts
 * are configured, `reserve` slots of the ceiling (at most half of it) are never one account's: one account with
 * slow calls cannot fill the ceiling, so another account's work finds a slot at once instead of waiting for one
 * of those calls to end.
 */
export function accountLimit(options: {
  target: number;
  ceiling: number;
  /** Accounts with claimable work in this pass, this one included. */
  readyAccounts: number;
  /** In flight on this replica for every other account. */
  othersInflight: number;
  /** Slots kept for the other accounts. */
  reserve: number;
  /** Accounts configured on this replica: with one, there is no other to keep slots for. */
  accounts: number;
}): number {
  const { target, ceiling, readyAccounts, othersInflight } = options;
  const fairShare = Math.max(1, Math.ceil(ceiling / Math.max(1, readyAccounts)));
  const free = Math.max(0, ceiling - othersInflight);
  const kept = options.accounts > 1 ? Math.min(Math.max(0, options.reserve), Math.floor(ceiling / 2)) : 0;
  return Math.max(1, Math.min(target, ceiling - kept, Math.max(fairShare, free)));
}
