/**
 * The loop's scheduling decisions, as pure functions over what one pass knows: which group may get another batch
 * now, whether a batch may be claimed ahead of its grant, and how long the loop sleeps. The loop does the I/O
 * (peek, claim); these only decide, so they are unit-tested on plain data.
 */

/** Groups from `rotation` on, then the ones before: each pass starts at another group, so none is favoured. */
export function rotate<T>(groups: readonly T[], rotation: number): T[] {
  if (groups.length === 0) return [];
  const start = rotation % groups.length;
  return [...groups.slice(start), ...groups.slice(0, start)];
}

/**
 * The order a pass visits groups in: accounts take turns, each account's first group before any account's second,
 * starting at another account each pass ({@link rotate}d), with an account's interactive groups before its others.
 * An account's own groups are rotated once per round of all accounts (`rotation / accounts`), not once per pass:
 * with the same step for both, two accounts of two types each would always lead with the same two of the four
 * groups, and the group a full worker visits first takes most slots that free. So an account holding three object
 * types' work gets no more turns than one holding one, each account's partial batch goes out before any account's
 * second (with a thousand accounts, each account's first outcome comes in the first third of the drain, not at a
 * random place in it), and an account's interactive work jumps only its own queue. A group with full batches
 * still claims them while its account's limit allows (pass.ts), as before.
 */
export function passOrder<T>(
  groups: readonly T[],
  rotation: number,
  accountOf: (group: T) => string,
  hasInteractive: (group: T) => boolean,
): T[] {
  const byAccount = new Map<string, T[]>();
  for (const g of groups) {
    const list = byAccount.get(accountOf(g));
    if (list) list.push(g);
    else byAccount.set(accountOf(g), [g]);
  }
  const round = Math.floor(rotation / byAccount.size);
  const turns = rotate([...byAccount.values()], rotation).map((list) => {
    const own = rotate(list, round);
    return [...own.filter(hasInteractive), ...own.filter((g) => !hasInteractive(g))];
  });
  const out: T[] = [];
  for (let turn = 0; out.length < groups.length; turn++)
    for (const list of turns) {
      const g = list[turn];
      if (g !== undefined) out.push(g);
    }
  return out;
}

/** What the loop knows when it considers one more batch of a group. */
export interface NextBatchInput {
  /** Claimable objects of the group not yet taken in this pass. */
  remaining: number;
  /** Of those, objects with interactive updates (a claim takes them first). */
  interactive: number;
  /** True for the group's first batch of this pass. */
  first: boolean;
  oldestEnqueuedAt: number;
  /** Redis's clock when the ready report was read. */
  now: number;
  /** Jobs still in the wait list (not yet ingested): a lingering batch waits for them. */
  waiting: number;
  lingerMs: number;
  maxBatchSize: number;
  /** Local time until which the account is known to have no budget (from an earlier look). */
  blockedForMs: number;
  inflightOfAccount: number;
  accountLimit: number;
  inflightTotal: number;
  concurrency: number;
}

/** Claim another batch of the group now, or stop with it for this pass (and wake within `sleepMs`, if given). */
export type NextBatch = { kind: 'claim' } | { kind: 'stop'; sleepMs?: number };

/**
 * Whether the group gets another batch in this pass: not while the worker is full or the account at its
 * limit or out of budget; a full batch always, a partial one only as the group's first batch of the pass once
 * its oldest update lingered `lingerMs` and nothing is left to ingest (later updates may still fill it). Interactive
 * work never lingers: a group that has some gets its batch now, partial or not, filled with bulk work that waits,
 * and without waiting for the wait list to be ingested (a person is waiting; the budget's pacing, not the linger,
 * then spaces its calls).
 */
export function nextBatch(input: NextBatchInput): NextBatch {
  if (input.inflightTotal >= input.concurrency) return { kind: 'stop' };
  if (input.blockedForMs > 0) return { kind: 'stop', sleepMs: input.blockedForMs };
  if (input.inflightOfAccount >= input.accountLimit) return { kind: 'stop' };
  if (input.remaining >= input.maxBatchSize) return { kind: 'claim' };
  if (input.interactive > 0) return { kind: 'claim' };
  const lingerLeft = input.oldestEnqueuedAt + input.lingerMs - input.now;
  if (input.first && lingerLeft <= 0 && input.waiting === 0) return { kind: 'claim' };
  return input.first && lingerLeft > 0 ? { kind: 'stop', sleepMs: lingerLeft } : { kind: 'stop' };
}

/** What a look at the account's budget said, as the claim-ahead decision needs it. */
export type BudgetLook = { granted: true } | { granted: false; waitMs: number; reason: string };

/** Claim the batch now, or wait: the account's budget is not due soon enough, or enough batches wait already. */
export type AheadDecision = { kind: 'claim' } | { kind: 'wait'; ms: number; blocked: boolean };

/**
 * A batch is claimed before its grant only when the budget is free now or within `maxWaitMs`, and fewer than
 * `target` of the account's batches already wait for theirs: a claimed object takes no more updates, so claiming
 * far ahead would send later updates of the same objects in calls of their own. A slot further off is waited for
 * only until it is `maxWaitMs` away, not until it opens: the batch is then claimed and prepared while the slot
 * comes, and leaves at its time instead of a claim and a preparation late. A pause can be lifted early
 * (credentials fixed, an operator's resume), so it is looked at again at least every `recheckMs`.
 */
export function aheadDecision(options: {
  look?: BudgetLook;
  waiting: number;
  target: number;
  maxWaitMs: number;
  recheckMs: number;
}): AheadDecision {
  const { look, waiting, target, maxWaitMs, recheckMs } = options;
  if (waiting >= target) return { kind: 'wait', ms: maxWaitMs, blocked: false };
  if (!look || look.granted) return { kind: 'claim' };
  if (look.reason === 'window' && look.waitMs <= maxWaitMs) return { kind: 'claim' };
  const ms =
    look.reason === 'window' ? Math.max(1, look.waitMs - maxWaitMs) : Math.min(look.waitMs, recheckMs);
  return { kind: 'wait', ms, blocked: true };
}

/**
 * How long the loop sleeps after a pass: not at all when it started batches and has room for more (more work is
 * likely ready), nor while the wait list still holds jobs and the pass moved some (a partial batch waits for the
 * wait list to be ingested: sleeping between ingest rounds would hold every partial group of a backlog, which is
 * each account's group when many accounts queue a little, for as long as the backlog takes at one round a tick);
 * else the shortest wake-up any group or housekeeping asked for.
 */
export function passSleepMs(options: {
  dispatched: number;
  inflightTotal: number;
  concurrency: number;
  sleepMs: number;
  /** Jobs this pass took off the wait lists (moved, or failed or dropped at ingest), and jobs still there. */
  ingested?: number;
  waiting?: number;
}): number {
  if ((options.ingested ?? 0) > 0 && (options.waiting ?? 0) > 0) return 0;
  return options.dispatched > 0 && options.inflightTotal < options.concurrency ? 0 : options.sleepMs;
}

/**
 * Whether a group's batches wait for its addresses to be resolved first: updates of one record addressed both by
 * id and by a unique property's value then go out in one input, not in two calls. Not for longer than `graceMs`
 * past the linger time of the group's oldest pending update, so a stream of new addresses never holds it up, and
 * not at all while interactive work is pending (an update that misses the merge goes in a later call, fenced).
 */
export function waitsForResolution(options: {
  unresolvedAddresses: number;
  /** Pending objects with interactive updates. */
  interactiveObjects?: number;
  oldestEnqueuedAt: number;
  now: number;
  lingerMs: number;
  graceMs: number;
}): boolean {
  const { unresolvedAddresses, oldestEnqueuedAt, now, lingerMs, graceMs } = options;
  if ((options.interactiveObjects ?? 0) > 0) return false;
  return unresolvedAddresses > 0 && now - oldestEnqueuedAt < lingerMs + graceMs;
}
