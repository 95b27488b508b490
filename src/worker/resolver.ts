import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { HubSpotAnswer, HubSpotPort } from '../hubspot/port.js';
import { classifyReadAnswer } from '../hubspot/read-answer.js';
import { objectKeyOf, parseGroup, parseObjectKey } from '../keys.js';
import type { AccountBudget, BudgetPort } from '../ratelimit/budget.js';
import { abortableSleep } from '../ratelimit/sleep.js';
import { endCallSpan, startCallSpan } from '../telemetry/spans.js';
import type { AddressStore, Resolution } from './addresses.js';
import { rateLimitPause } from './pauses.js';

/** How addresses are resolved: sizes and times of the batch/read calls. */
const READS = {
  /** HubSpot's batch/read takes at most 100 inputs: one call resolves up to 100 new addresses. */
  size: 100,
  /** Reads of one group made at once: a backlog of new addresses is resolved in about one call's latency. */
  parallel: 10,
  /** How long a replica's lock on a group's resolution lasts; a read outliving it may be made twice, harmlessly. */
  lockMs: 30_000,
  /** After a read that failed (5xx, timeout, 429...), the group's addresses are read again after this long. */
  retryMs: 1_000,
} as const;

export interface ResolverOptions {
  addresses: AddressStore;
  port: HubSpotPort;
  budget: Pick<BudgetPort, 'waitForGrant' | 'report' | 'pause' | 'departed'>;
  budgetFor: (account: string) => AccountBudget | undefined;
  authPauseMs: number;
  logger: Logger;
  /** Called when a group's resolution ended, so the loop claims what it moved. */
  wake: () => void;
  /** Aborted at shutdown: reads in flight are cancelled, their addresses read again by whoever runs next. */
  signal: AbortSignal;
  /**
   * How long a read of fewer than 100 addresses waits for more to arrive (the batch linger): a burst of updates
   * enqueued in several commands then costs one read per 100 new addresses, not one per command. Default 0.
   */
  lingerMs?: number;
  /** Reads made (metrics). */
  onRead?: (account: string, objectType: string, size: number) => void;
}

/**
 * Finds the records that updates addressed by a unique property's value (`idProperty`) name, with batch/read
 * calls that spend the account's rate budget like any call (one per 100 new addresses), so that fencing, merging
 * and "one batch in flight per object" are per record however each update addressed it. One resolution runs per
 * group at a time on a replica, and a lock in Redis keeps replicas from reading the same addresses.
 */
export class Resolver {
  readonly #o: ResolverOptions;
  readonly #owner = randomUUID();
  readonly #running = new Map<string, Promise<void>>();
  /** Per group, local time before which a failed read is not retried. */
  readonly #retryAt = new Map<string, number>();

  constructor(options: ResolverOptions) {
    this.#o = options;
  }

  /** True while the group's addresses are being resolved here (its batches wait for them). */
  busy(group: string): boolean {
    return this.#running.has(group);
  }

  /** Starts resolving the group's addresses unless that already runs or a failed read is still backing off. */
  kick(group: string): void {
    if (this.#running.has(group) || (this.#retryAt.get(group) ?? 0) > Date.now()) return;
    const run = this.#resolveGroup(group)
      .catch((err: unknown) => {
        this.#retryAt.set(group, Date.now() + READS.retryMs);
        this.#o.logger.warn({ group, err }, 'address resolution failed; retrying');
      })
      .finally(() => {
        this.#running.delete(group);
        this.#o.wake();
      });
    this.#running.set(group, run);
  }

  /** Resolves once every resolution started here ended. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }

  async #resolveGroup(group: string): Promise<void> {
    const o = this.#o;
    if (!(await o.addresses.lock(group, this.#owner, READS.lockMs))) return;
    try {
      const { account, objectType } = parseGroup(group);
      const budget = o.budgetFor(account);
      for (;;) {
        if (o.signal.aborted) return;
        let addresses = await o.addresses.waiting(group, READS.size * READS.parallel);
        if (addresses.length === 0) return;
        if (addresses.length < READS.size && (o.lingerMs ?? 0) > 0) {
          await abortableSleep(o.lingerMs ?? 0, o.signal).catch(() => {});
          if (o.signal.aborted) return;
          addresses = await o.addresses.waiting(group, READS.size * READS.parallel);
        }
        if (!budget) {
          const error = {
            category: 'ACCOUNT_NOT_CONFIGURED',
            message: `account "${account}" has no HubSpot credentials configured (HUBSPOT_ACCOUNTS / HUBSPOT_ACCESS_TOKEN)`,
          };
          await o.addresses.resolve(
            group,
            addresses.map((address) => ({ address, error })),
          );
          continue;
        }
        // Reads of up to 100 values of one unique property; a group's addresses rarely use more than one.
        const byProperty = new Map<string, string[]>();
        for (const address of addresses) {
          const { idProperty = '', id } = parseObjectKey(address);
          byProperty.set(idProperty, [...(byProperty.get(idProperty) ?? []), id]);
        }
        const reads: Array<[string, string[]]> = [];
        for (const [idProperty, values] of byProperty) {
          for (let i = 0; i < values.length; i += READS.size)
            reads.push([idProperty, values.slice(i, i + READS.size)]);
        }
        const done = await Promise.all(
          reads.map(async ([idProperty, values]) => {
            const resolution = await this.#read(account, objectType, idProperty, values, budget);
            if (resolution) await o.addresses.resolve(group, resolution);
            // An answer silent about some values settles nothing for them: they are read again after a pause.
            return resolution !== undefined && !resolution.some((r) => r.silent);
          }),
        );
        if (!done.every(Boolean)) {
          this.#retryAt.set(group, Date.now() + READS.retryMs);
          return;
        }
      }
    } finally {
      await o.addresses.unlock(group, this.#owner).catch(() => {});
    }
  }

  /** One batch/read; undefined when it must be made again later (its answer settled nothing). */
  async #read(
    account: string,
    objectType: string,
    idProperty: string,
    values: string[],
    budget: AccountBudget,
  ): Promise<Resolution | undefined> {
    const o = this.#o;
    let grant: Awaited<ReturnType<BudgetPort['waitForGrant']>>;
    try {
      grant = await o.budget.waitForGrant(account, budget, o.signal);
    } catch {
      return undefined;
    }
    let departed: Promise<unknown> | undefined;
    // The updates waiting for these addresses are not read here: the span stands alone, without links.
    const span = startCallSpan({ name: 'hubspot.batch_read', account, objectType, inputs: values.length });
    let answer: HubSpotAnswer;
    try {
      answer = await o.port.batchRead({
        account,
        objectType,
        idProperty,
        ids: values,
        signal: o.signal,
        onSent: (at) => {
          departed = o.budget.departed(account, grant, at).catch(() => undefined);
        },
      });
    } catch (err) {
      endCallSpan(span, undefined);
      throw err;
    }
    await departed;
    if (answer.kind === 'http') {
      await o.budget
        .report(account, grant, answer.rateLimit, budget, { rejected: answer.status === 429 })
        .catch(() => {});
    }
    o.onRead?.(account, objectType, values.length);
    const verdict = classifyReadAnswer(idProperty, values, answer);
    endCallSpan(span, answer, verdict.kind === 'rateLimited' ? verdict.policyName : undefined);
    // The values are the addresses' own (normalized), so the keys are the addresses'.
    const key = (value: string) => objectKeyOf(account, objectType, idProperty, value);
    switch (verdict.kind) {
      case 'read':
        return [
          ...[...verdict.found].map(([value, recordId]) => ({ address: key(value), recordId })),
          ...verdict.missing.map((value) => ({ address: key(value) })),
          ...verdict.unknown.map((value) => ({ address: key(value), silent: true as const })),
        ];
      case 'refused':
        return values.map((value) => ({ address: key(value), error: verdict.error }));
      case 'rateLimited': {
        const pause = rateLimitPause(verdict.policyName, verdict.retryAfterMs, budget);
        await o.budget.pause(account, pause.options);
        return undefined;
      }
      case 'authFailed': {
        const detail = `HubSpot rejected the credentials of account "${account}" (${verdict.error.category}); account paused, its updates stay queued`;
        await o.budget.pause(account, { durationMs: o.authPauseMs, reason: 'auth', detail });
        return undefined;
      }
      default:
        return undefined;
    }
  }
}
