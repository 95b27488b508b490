import { parseGroup } from '../keys.js';
import type { AccountBudget } from '../ratelimit/budget.js';
import { accountLimit, type CallDemand } from './demand.js';
import type { Dispatcher } from './dispatcher.js';
import type { Housekeeping } from './housekeeping.js';
import type { Resolver } from './resolver.js';
import { nextBatch, passOrder, passSleepMs, waitsForResolution } from './schedule.js';
import type { SlotShare } from './slots.js';
import type { QueueStore } from './store.js';

/** How a pass ingests. */
const INGEST = {
  /**
   * Jobs moved per ingest call. Redis runs nothing else during a script: 1,000 jobs held it for up to 60 ms, and
   * every rate-limit grant and claim of every replica queued behind it; 200 keep a script near 10 ms.
   */
  chunk: 200,
  /**
   * Ingest calls per pass while nothing is ready to send: a pass moves up to 5,000 jobs before it claims, so
   * updates to one object that wait in the backlog are merged into one input rather than sent one call after
   * another.
   */
  rounds: 25,
  /**
   * While batches are ready (the last pass saw a full batch or interactive work, or claimed one), a pass ingests a
   * fifth of that and goes on to claim: a replica ingesting a deep backlog would otherwise let the budget that
   * frees up meanwhile go unused (its claim and its slot come during the rounds), and every wake of the loop (each
   * grant, each settle) ingests some more. Groups that hold only partial batches, which wait for the backlog to be
   * ingested anyway, do not count: ingesting a fifth a pass would then read every group's readiness five times as
   * often, and a thousand accounts' groups make that the pass's main cost.
   */
  roundsWhileReady: 5,
} as const;

/**
 * How long past its linger time a group's batches wait for its new addresses to be resolved (one batch/read of up to
 * 100, ten at a time), so one record addressed two ways goes out in one input.
 */
const RESOLVE_FIRST_MS = 3000;

/** What a pass needs of the loop's parts: the ports it is handed (the worker passes the real ones). */
export interface PassOptions {
  store: Pick<QueueStore, 'ingest' | 'ready'>;
  housekeeping: Pick<Housekeeping, 'run' | 'gauges'>;
  dispatcher: Pick<Dispatcher, 'inflightOf' | 'blockedForMs' | 'claimAndDispatch'>;
  resolver: Pick<Resolver, 'kick'>;
  demand: CallDemand;
  /** The worker's slots, which its shards' loops share: `concurrency` bounds the batches of them all. */
  slots: SlotShare;
  budgetFor: (account: string) => AccountBudget | undefined;
  lingerMs: number;
  maxBatchSize: number;
  concurrency: number;
  /** Slots of the ceiling kept for the other accounts (see `accountLimit`). */
  accountReserve: number;
  /** Accounts configured on this replica. */
  accounts: number;
  /** False once the worker is closing: the pass takes no more work. */
  running: () => boolean;
}

/**
 * One pass of the worker loop, as the flow reads: ingest new jobs → housekeeping → see which groups are ready →
 * for each (starting at another group each pass) claim batches while the schedule allows. The decisions are the
 * pure functions of schedule.ts; this does the I/O.
 */
export class LoopPass {
  readonly #o: PassOptions;
  #rotation = 0;
  #batchesReady = false;

  constructor(options: PassOptions) {
    this.#o = options;
  }

  /** Runs one pass; resolves with how long to sleep before the next (0 = go on at once). */
  async run(): Promise<number> {
    const o = this.#o;
    // Jobs taken off the wait lists (moved, failed as invalid, dropped as repeats): progress, so no sleep while
    // more wait.
    let taken = 0;
    let invalid = 0;
    const rounds = this.#batchesReady ? INGEST.roundsWhileReady : INGEST.rounds;
    for (let round = 0; round < rounds && o.running(); round++) {
      const r = await o.store.ingest(INGEST.chunk);
      taken += r.moved + r.invalid + r.duplicates;
      invalid += r.invalid;
      if (r.waiting === 0 || r.moved + r.invalid + r.duplicates === 0) break;
      // An interactive update goes out in this pass, not after a backlog's worth of rounds, when a slot is free.
      if (r.interactive > 0 && o.slots.inUse() < o.concurrency) break;
    }
    const now = Date.now();
    let sleepMs = await o.housekeeping.run(now, invalid);
    const report = await o.store.ready();
    this.#batchesReady = report.groups.some(
      (g) => g.pendingObjects >= o.maxBatchSize || g.interactiveObjects > 0,
    );
    await o.housekeeping.gauges(
      now,
      report.groups.filter((g) => g.pendingObjects > 0).map((g) => g.oldestEnqueuedAt),
    );
    if (!o.running()) return 0;
    if (report.groups.length === 0) return taken > 0 ? 0 : sleepMs;

    const readyAccounts = new Set(report.groups.map((g) => parseGroup(g.group).account)).size;
    let dispatched = 0;
    // Set when the pass stopped with every slot of the worker taken (some perhaps by its other shards' loops).
    let full = false;
    const order = passOrder(
      report.groups,
      this.#rotation++,
      (g) => parseGroup(g.group).account,
      (g) => g.interactiveObjects > 0,
    );
    for (const g of order) {
      if (g.unresolvedAddresses > 0) o.resolver.kick(g.group);
      if (o.slots.inUse() >= o.concurrency) {
        full = true;
        break;
      }
      if (g.pendingObjects === 0) continue;
      const resolveFirst = waitsForResolution({
        unresolvedAddresses: g.unresolvedAddresses,
        interactiveObjects: g.interactiveObjects,
        oldestEnqueuedAt: g.oldestEnqueuedAt,
        now: report.now,
        lingerMs: o.lingerMs,
        graceMs: RESOLVE_FIRST_MS,
      });
      // The resolver wakes the loop when it is done; the tick is the fallback when another replica resolves.
      if (resolveFirst) continue;
      const { account } = parseGroup(g.group);
      const budget = o.budgetFor(account);
      // A deep group yields several full batches in one pass, saving an ingest and a report per batch.
      let remaining = g.pendingObjects;
      let interactive = g.interactiveObjects;
      for (let first = true; ; first = false) {
        const inflightOfAccount = o.dispatcher.inflightOf(account);
        const inflightTotal = o.slots.inUse();
        const next = nextBatch({
          remaining,
          interactive,
          first,
          oldestEnqueuedAt: g.oldestEnqueuedAt,
          now: report.now,
          waiting: report.waiting,
          lingerMs: o.lingerMs,
          maxBatchSize: o.maxBatchSize,
          blockedForMs: o.dispatcher.blockedForMs(account),
          inflightOfAccount,
          accountLimit: accountLimit({
            target: budget ? o.demand.target(account, budget) : o.concurrency,
            ceiling: o.concurrency,
            readyAccounts,
            othersInflight: inflightTotal - inflightOfAccount,
            reserve: o.accountReserve,
            accounts: o.accounts,
          }),
          inflightTotal,
          concurrency: o.concurrency,
        });
        if (inflightTotal >= o.concurrency) full = true;
        if (next.kind === 'stop') {
          if (next.sleepMs !== undefined) sleepMs = Math.min(sleepMs, next.sleepMs);
          break;
        }
        const claimed = await o.slots.claiming(() => o.dispatcher.claimAndDispatch(g.group, account));
        if (claimed.kind === 'wait') sleepMs = Math.min(sleepMs, claimed.ms);
        if (claimed.kind !== 'ok') {
          // The slot its claim held is free again: a loop that starved meanwhile may take it.
          o.slots.freed();
          break;
        }
        remaining -= claimed.objects;
        // A claim takes the interactive objects first.
        interactive = Math.max(0, interactive - claimed.objects);
        dispatched++;
        this.#batchesReady = true;
      }
    }
    if (full) {
      // Woken when a slot frees in another loop; one freed meanwhile (after this pass stopped) is taken now.
      if (o.slots.inUse() >= o.concurrency) o.slots.starved();
      else return 0;
    }
    return passSleepMs({
      dispatched,
      inflightTotal: o.slots.inUse(),
      concurrency: o.concurrency,
      sleepMs,
      ingested: taken,
      waiting: report.waiting,
    });
  }
}
