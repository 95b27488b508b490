import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { LeaseLostError } from '../errors.js';
import type { HubSpotPort } from '../hubspot/port.js';
import { parseGroup } from '../keys.js';
import type { Metrics } from '../metrics.js';
import type { AccountBudget, BudgetPort } from '../ratelimit/budget.js';
import { BudgetPausedError } from '../ratelimit/wait.js';
import { type BatchStory, buildBatchStory, type CallFacts } from '../story/batch-story.js';
import type { UpdateLimits } from '../update.js';
import { recordCall } from './call-record.js';
import type { CallDemand } from './demand.js';
import type { MetricLabels } from './labels.js';
import { heldPauseBoundMs } from './pauses.js';
import { buildSettlePlan, type PlanOptions } from './plan.js';
import { type PropertyValidator, prepareBatch } from './prepare.js';
import type { SchemaCache } from './schema-cache.js';
import { type InputFate, sendBatch } from './send.js';
import type { QueueStore } from './store.js';
import type { ClaimedObject, SettlePlan, SettleResult } from './store-types.js';

/**
 * A batch reserves its slot up to this long before the slot opens, and confirms its lease meanwhile, so nothing
 * stands between the slot's time and the request leaving but a timer.
 */
const RESERVE_MS = 150;

/** What one batch needs from its worker. */
export interface BatchContext {
  port: HubSpotPort;
  store: QueueStore;
  /** The shared rate budget (the limiter over Redis). */
  limiter: BudgetPort;
  schemas: SchemaCache;
  logger: Logger;
  metrics?: Metrics;
  /** Bounds the label values of the batch's metrics. */
  labels: MetricLabels;
  /** Learns each account's call latency from the answers. */
  demand: CallDemand;
  /** Size limits updates are validated against. */
  limits?: Partial<UpdateLimits>;
  validateProperties: boolean;
  leaseMs: number;
  /** How long objects are held after a call that may still apply. */
  ambiguousHoldMs: number;
  /** Deadline of one HubSpot call: a call whose batch is taken back may be at HubSpot until then. */
  httpTimeoutMs: number;
  authPauseMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** One claimed batch, from its claim to its settle. */
export interface ClaimedBatch {
  group: string;
  batchId: string;
  objects: ClaimedObject[];
  /** The account's budget; undefined when the account is not configured (its updates fail). */
  budget: AccountBudget | undefined;
  signal: AbortSignal;
  /** Called as the settle is sent: from then on the batch's record may vanish without its lease being lost. */
  onSettling?: () => void;
  /** Called when the batch gets its first grant. */
  onGranted?: () => void;
  /** When the claim took it (epoch ms, Redis's clock), for its story. */
  claimedAt?: number;
}

/**
 * Runs one claimed batch: validate and merge, send (with retries of 429s and poison isolation inside the
 * batch), decide every update's fate, and settle it all in one Redis call.
 */
export async function runBatch(ctx: BatchContext, claimed: ClaimedBatch): Promise<void> {
  const { group, batchId, objects, budget, signal } = claimed;
  const { account, objectType } = parseGroup(group);
  let validator: PropertyValidator | undefined;
  // The schema fetch found the account paused for longer than a batch may hold its claim.
  let paused = false;
  if (ctx.validateProperties && budget) {
    const started = performance.now();
    try {
      validator = await ctx.schemas.validatorFor(account, objectType, signal);
    } catch (err) {
      // A long pause, or the batch stopping (shutdown, lease lost) while it waited for the schema's call: its
      // updates go back to the queue as they are.
      if (!(err instanceof BudgetPausedError) && !signal.aborted) throw err;
      paused = true;
    } finally {
      // Waiting for the schema, not for the batch's own grant (which is the rate-limit wait).
      const waited = performance.now() - started;
      if (waited >= 1) ctx.metrics?.schemaWait.inc({ account: ctx.labels.account(account) }, waited / 1000);
    }
  }
  const batch = prepareBatch(group, objects, validator, {
    maxAttempts: ctx.maxAttempts,
    ...(ctx.limits ? { limits: ctx.limits } : {}),
  });
  let fates: Map<number, InputFate>;
  // What the calls did, for the batch's story (`explain`).
  const calls: CallFacts[] = [];
  if (!budget) {
    const error = {
      category: 'ACCOUNT_NOT_CONFIGURED',
      message: `account "${account}" has no HubSpot credentials configured (HUBSPOT_ACCOUNTS / HUBSPOT_ACCESS_TOKEN)`,
    };
    // No call is made, so no attempt is charged.
    fates = new Map(
      batch.inputs.map((_, i) => [i, { kind: 'failed', error, attempted: false } as InputFate]),
    );
  } else if (batch.inputs.length === 0) {
    fates = new Map();
  } else if (paused) {
    // Back to the queue without spending an attempt; the loop claims nothing for the account while it is paused.
    fates = new Map(batch.inputs.map((_, i) => [i, { kind: 'requeue', reason: 'paused' } as InputFate]));
  } else {
    try {
      fates = await send(ctx, claimed, batch, account, objectType, budget, calls);
    } catch (err) {
      if (!(err instanceof LeaseLostError)) throw err;
      // Another worker took the batch back (this one stalled past its lease): it sends and settles it now. Calls
      // this one made before are still told (settle stores the story of a lost batch, and settles nothing).
      if (calls.length > 0) {
        const story = buildBatchStory(batchId, claimed.claimedAt, batch, calls);
        await ctx.store.settle(batchId, { objects: [] }, story).catch(() => undefined);
      }
      ctx.logger.warn(
        { batchId },
        'lease lost before a call; the batch is left to the worker that took it back',
      );
      return;
    }
  }
  const planOptions: PlanOptions = {
    maxAttempts: ctx.maxAttempts,
    backoffBaseMs: ctx.backoffBaseMs,
    backoffMaxMs: ctx.backoffMaxMs,
    windowMs: budget?.windowMs ?? 10_000,
    holdMs: ctx.ambiguousHoldMs,
    story: { batchId, carried: new Set(calls.flatMap((c) => c.part)) },
  };
  const story = buildBatchStory(batchId, claimed.claimedAt, batch, calls);
  let { plan, summary } = buildSettlePlan(objects, batch, fates, planOptions);
  claimed.onSettling?.();
  let settled = await settleWithRetry(ctx, batchId, plan, story);
  if (typeof settled === 'object') {
    // An operator failed the account while this batch was in flight: what would go back to the queue fails.
    const error = { category: 'OPERATOR_FAILED', message: settled.failAccount };
    ({ plan, summary } = buildSettlePlan(objects, batch, fates, { ...planOptions, failUnfinished: error }));
    settled = await settleWithRetry(ctx, batchId, plan, story);
  }
  if (settled !== 'settled') {
    ctx.logger.warn({ batchId }, 'batch lease was lost before settling; another worker owns its updates');
    return;
  }
  if (ctx.metrics) {
    const labels = ctx.labels.of(account, objectType);
    for (const status of ['succeeded', 'failed', 'superseded', 'retrying'] as const) {
      if (summary[status] > 0) ctx.metrics.updates.inc({ ...labels, status }, summary[status]);
    }
    if (batch.merged > 0) ctx.metrics.merged.inc(labels, batch.merged);
  }
}

function send(
  ctx: BatchContext,
  claimed: ClaimedBatch,
  batch: ReturnType<typeof prepareBatch>,
  account: string,
  objectType: string,
  budget: AccountBudget,
  calls: CallFacts[],
): Promise<Map<number, InputFate>> {
  return sendBatch(batch, {
    port: ctx.port,
    batchId: claimed.batchId,
    // The request may leave up to half a lease after this, then take up to its deadline.
    beginCall: () =>
      ctx.store.beginCall(claimed.batchId, ctx.leaseMs, Math.floor(ctx.leaseMs / 2) + ctx.httpTimeoutMs),
    // Half the lease: a worker stalled longer than that after confirming its lease may have lost it.
    leaveWithinMs: Math.floor(ctx.leaseMs / 2),
    budget: {
      // The grant is taken once the batch is prepared, right before its call: HubSpot counts a call when it
      // arrives. A batch holds its claim while it waits, so it waits out a short pause only; a longer one
      // sends it back to the queue, without spending an attempt.
      waitForGrant: async (a, b, sig) => {
        const got = await ctx.limiter.waitForGrant(a, b, sig, {
          maxPauseMs: heldPauseBoundMs(ctx.leaseMs),
          reserveMs: RESERVE_MS,
        });
        claimed.onGranted?.();
        return got;
      },
      report: (a, g, snapshot, b, call) => ctx.limiter.report(a, g, snapshot, b, call),
      pause: (a, options) => ctx.limiter.pause(a, options),
      departed: (a, g, sentAt) => ctx.limiter.departed(a, g, sentAt),
    },
    accountBudget: budget,
    signal: claimed.signal,
    maxInlinePauseMs: heldPauseBoundMs(ctx.leaseMs),
    authPauseMs: ctx.authPauseMs,
    events: {
      onCall: (info) => {
        calls.push({
          at: info.at,
          waitedMs: info.waitedMs,
          part: info.part,
          answer: info.answer,
          ...(info.verdict.kind === 'rateLimited' ? { policyName: info.verdict.policyName } : {}),
        });
        ctx.demand.recordLatency(account, info.answer.latencyMs);
        recordCall(ctx.metrics, ctx.labels, ctx.logger, info, () =>
          ctx.schemas.invalidate(account, objectType),
        );
      },
      onPause: (info) => {
        ctx.metrics?.pauses.inc({ account: ctx.labels.account(info.account), reason: info.reason });
        const fields = {
          account: info.account,
          reason: info.reason,
          pauseMs: info.ms,
          policyName: info.policyName,
        };
        // Credentials problems need a human: log them loudly.
        if (info.reason === 'auth') ctx.logger.error(fields, info.detail);
        else ctx.logger.warn(fields, info.detail);
      },
    },
  });
}

async function settleWithRetry(
  ctx: BatchContext,
  batchId: string,
  plan: SettlePlan,
  story: BatchStory,
): Promise<SettleResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.store.settle(batchId, plan, story);
    } catch (err) {
      // Redis may be restarting: keep trying while the lease lasts; after that the batch is taken back anyway.
      if (attempt * 500 > ctx.leaseMs) throw err;
      ctx.logger.warn({ batchId, err }, 'settle failed; retrying');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
