import { randomUUID } from 'node:crypto';
import { parseGroup } from '../keys.js';
import type { AccountBudget, BudgetPort } from '../ratelimit/budget.js';
import type { HeldBatch } from './leases.js';
import { type BatchContext, runBatch } from './run-batch.js';
import { aheadDecision } from './schedule.js';
import type { QueueStore } from './store.js';
import type { ClaimedObject } from './store-types.js';

/** Most updates of one object taken into one batch (the rest wait for the next). */
const MAX_UPDATES_PER_OBJECT = 200;
/**
 * Most updates in one batch, whatever the objects: what bounds a replica's memory, with the ceiling of batches in
 * flight (at 100 batches, 100,000 updates and their job data). Objects beyond it wait for the next batch.
 */
export const MAX_UPDATES_PER_BATCH = 1000;
/**
 * A batch is claimed before its grant when the budget is free or frees up within this long... Not longer: a
 * claimed object takes no more updates, so later updates to it would cost a call of their own.
 */
export const AHEAD_MAX_WAIT_MS = 150;
/** A paused account is looked at again at least this often (its pause may be lifted early). */
const PAUSE_RECHECK_MS = 1000;

export interface DispatcherOptions {
  store: QueueStore;
  budget: Pick<BudgetPort, 'peek'>;
  batchContext: BatchContext;
  /** The batches this worker holds (the heartbeat renews their leases). */
  batches: Map<string, HeldBatch>;
  workerId: string;
  leaseMs: number;
  lingerMs: number;
  maxBatchSize: number;
  budgetFor: (account: string) => AccountBudget | undefined;
  /** How many of the account's batches may wait for their grant at once. */
  aheadTarget: (budget: AccountBudget) => number;
  /** Wakes the loop (a batch got its grant or ended). */
  wake: () => void;
  onError: (batchId: string, err: unknown) => void;
  onInflightChange?: (count: number) => void;
  /** A batch ended (settled, failed or given back): its slot is free. */
  onBatchEnd?: () => void;
}

export type ClaimResult = { kind: 'ok'; objects: number } | { kind: 'wait'; ms: number } | { kind: 'none' };

/**
 * Claims batches and runs them: the claim-ahead rule (a batch is claimed only when its account's budget is due
 * within moments, a few at a time), the bookkeeping of batches waiting for their grant, and each batch's life
 * from claim to settle.
 */
export class Dispatcher {
  readonly #o: DispatcherOptions;
  /** Per account, local time until which a look said its budget is not due. */
  readonly #blockedUntil = new Map<string, number>();
  /** Per account, batches claimed and still waiting for their grant. */
  readonly #waiting = new Map<string, number>();

  constructor(options: DispatcherOptions) {
    this.#o = options;
  }

  /** How long the account is still known to have no budget (ms, 0 when not). */
  blockedForMs(account: string): number {
    return Math.max(0, (this.#blockedUntil.get(account) ?? 0) - Date.now());
  }

  inflightOf(account: string): number {
    let n = 0;
    for (const b of this.#o.batches.values()) if (b.account === account) n++;
    return n;
  }

  /** Claims one batch of the group and starts it, when the account's budget is free now or within moments. */
  async claimAndDispatch(group: string, account: string): Promise<ClaimResult> {
    const o = this.#o;
    const budget = o.budgetFor(account);
    if (budget) {
      const waiting = this.#waiting.get(account) ?? 0;
      const target = o.aheadTarget(budget);
      const look = waiting < target ? await o.budget.peek(account, budget) : undefined;
      const decision = aheadDecision({
        ...(look ? { look } : {}),
        waiting,
        target,
        maxWaitMs: AHEAD_MAX_WAIT_MS,
        recheckMs: PAUSE_RECHECK_MS,
      });
      if (decision.kind === 'wait') {
        if (!decision.blocked) return { kind: 'wait', ms: decision.ms };
        // Jitter, so replicas blocked on one account do not all look again at the same moment.
        const ms = decision.ms + Math.random() * Math.min(20, decision.ms * 0.1);
        this.#blockedUntil.set(account, Date.now() + ms);
        return { kind: 'wait', ms };
      }
      // Budget is free now or very soon: claim and prepare first, and let the batch take its grant itself, right
      // before its call. HubSpot counts a call when it arrives; a grant taken before the claim would leave the
      // claim's and the preparation's time between the two, and a cold or busy replica takes long there.
    }
    const batchId = randomUUID();
    const claim = await o.store.claim({
      group,
      batchId,
      workerId: o.workerId,
      leaseMs: o.leaseMs,
      maxObjects: o.maxBatchSize,
      minObjects: o.maxBatchSize,
      lingerMs: o.lingerMs,
      maxUpdatesPerObject: MAX_UPDATES_PER_OBJECT,
      maxUpdates: MAX_UPDATES_PER_BATCH,
    });
    if (claim.kind !== 'ok') return { kind: 'none' };
    this.#dispatch(group, batchId, claim.objects, budget, claim.claimedAt);
    return { kind: 'ok', objects: claim.objects.length };
  }

  #dispatch(
    group: string,
    batchId: string,
    objects: ClaimedObject[],
    budget: AccountBudget | undefined,
    claimedAt: number,
  ): void {
    const o = this.#o;
    const { account } = parseGroup(group);
    const abort = new AbortController();
    const entry: HeldBatch = { abort, account, done: Promise.resolve(), settling: false };
    // Counted as waiting until its grant comes (or the batch ends without needing one).
    let waiting = budget !== undefined;
    if (waiting) this.#waiting.set(account, (this.#waiting.get(account) ?? 0) + 1);
    const granted = () => {
      if (!waiting) return;
      waiting = false;
      const left = (this.#waiting.get(account) ?? 1) - 1;
      if (left > 0) this.#waiting.set(account, left);
      else this.#waiting.delete(account);
      o.wake();
    };
    entry.done = runBatch(o.batchContext, {
      group,
      batchId,
      objects,
      budget,
      signal: abort.signal,
      claimedAt,
      onGranted: granted,
      onSettling: () => {
        entry.settling = true;
      },
    })
      .catch((err: unknown) => o.onError(batchId, err))
      .finally(() => {
        granted();
        o.batches.delete(batchId);
        o.onInflightChange?.(o.batches.size);
        o.onBatchEnd?.();
        o.wake();
      });
    o.batches.set(batchId, entry);
    o.onInflightChange?.(o.batches.size);
  }
}
