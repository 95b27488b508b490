import { performance } from 'node:perf_hooks';
import { ErrorCode, hasErrorCode, LeaseLostError } from '../errors.js';
import { classifyBatchAnswer } from '../hubspot/classify.js';
import { ATTEMPT_POLICY, type AttemptReason } from '../hubspot/policy.js';
import type { BatchInput, HubSpotAnswer, HubSpotPort } from '../hubspot/port.js';
import type { BatchVerdict } from '../hubspot/verdict.js';
import type { OutcomeError } from '../outcomes/outcome.js';
import type { AccountBudget, BudgetPort, Grant, PauseReason } from '../ratelimit/budget.js';
import { abortableSleep } from '../ratelimit/sleep.js';
import { endCallSpan, startCallSpan } from '../telemetry/spans.js';
import { halves, isolate, type PoisonFate, poisonFate } from './isolate.js';
import { rateLimitPause } from './pauses.js';
import type { PreparedBatch, PreparedInput } from './prepare.js';

/** What became of one input of a batch once sending is over. */
export type InputFate =
  | { kind: 'succeeded'; hubspotObjectId?: string }
  /** `attempted: false` when no call carried the input (nothing is charged). */
  | { kind: 'failed'; error: OutcomeError; attempted?: boolean }
  /** A poison input of a rejected batch; see {@link isolate}. */
  | PoisonFate
  /** `ambiguous`: the call left and may still apply, so the object is held (see the policy's column). */
  | { kind: 'retry'; reason: AttemptReason; error: OutcomeError; retryAfterMs?: number; ambiguous?: boolean }
  /** Not attempted (rate limit, credentials, shutdown): back to pending without spending an attempt. */
  | { kind: 'requeue'; reason: string; ambiguous?: boolean };

/** Hooks for metrics and logs; all optional. */
export interface SendEvents {
  onCall?(info: {
    account: string;
    objectType: string;
    size: number;
    answer: HubSpotAnswer;
    verdict: BatchVerdict;
    /** When the request left (epoch ms), or was tried when it never did. */
    at: number;
    /** How long the call waited for its rate budget (ms). */
    waitedMs: number;
    /** Indexes of the batch's inputs the call carried. */
    part: readonly number[];
  }): void;
  onPause?(info: {
    account: string;
    reason: PauseReason;
    ms: number;
    policyName?: string;
    detail: string;
  }): void;
}

export interface SendOptions {
  port: HubSpotPort;
  /** The slice of the account's budget a send needs. */
  budget: Pick<BudgetPort, 'waitForGrant' | 'report' | 'pause' | 'departed'>;
  /**
   * Called right before each call, once its grant is taken: resolves false when the batch's lease was lost, and
   * then nothing more is sent ({@link sendBatch} rejects with {@link LeaseLostError}).
   */
  beginCall?: () => Promise<boolean>;
  /**
   * How long after `beginCall` confirmed the lease the request may still leave (ms). A process stalled past it
   * (a frozen or overloaded host) does not send: the lease may have been lost meanwhile.
   */
  leaveWithinMs?: number;
  /** The batch's id, for errors and spans. */
  batchId?: string;
  accountBudget: AccountBudget;
  signal: AbortSignal;
  /** Longest pause the sender waits out while holding its batch; longer pauses hand the batch back. */
  maxInlinePauseMs: number;
  /** Pause after a 401/403 before credentials are tried again. */
  authPauseMs: number;
  events?: SendEvents;
}

/** The attempts an input's updates have spent before this batch, the highest of them. */
function maxAttempts(input: PreparedInput | undefined): number {
  return Math.max(0, ...(input?.members ?? []).map((m) => m.entry.attempts));
}

/**
 * Sends a prepared batch and decides the fate of every input. A whole-batch 400 is isolated rather than failed:
 * inputs the error names (by trace id, id, or property) fail alone and the rest is sent again; when the error
 * names nothing usable the batch is bisected, so extra calls stay near log2(size) per poison input.
 */
export async function sendBatch(batch: PreparedBatch, options: SendOptions): Promise<Map<number, InputFate>> {
  const { account, objectType } = batch;
  const fates = new Map<number, InputFate>();
  const queue: number[][] = batch.inputs.length > 0 ? [batch.inputs.map((_, i) => i)] : [];
  // A call refused with an expired token is sent again once, with the fresh token the provider now gets.
  let renewedToken = false;
  // One short 429 pause is waited out holding the batch; a second one hands it back, so a run of them (probes
  // around a daily reset) never keeps the claim.
  let heldPauses = 0;
  // Calls made so far, numbering each call's span within the batch.
  let calls = 0;

  while (queue.length > 0) {
    const part = queue.shift() ?? [];
    if (options.signal.aborted) {
      for (const i of part) fates.set(i, { kind: 'requeue', reason: 'shutdown' });
      continue;
    }
    let grant: Grant;
    const waitFrom = performance.now();
    try {
      grant = await options.budget.waitForGrant(account, options.accountBudget, options.signal);
    } catch {
      // Shutting down, or the account is paused for longer than a claimed batch should wait.
      const reason = options.signal.aborted ? 'shutdown' : 'paused';
      for (const i of part) fates.set(i, { kind: 'requeue', reason });
      continue;
    }
    const inputs: BatchInput[] = part.map((i) => (batch.inputs[i] as PreparedInput).input);
    const confirmedAt = performance.now();
    if (options.beginCall && !(await options.beginCall())) throw new LeaseLostError(options.batchId ?? '');
    // A reserved slot opens a little later: the call leaves then, not before.
    const early = grant.localAt - Date.now();
    if (early > 0) {
      try {
        await abortableSleep(early, options.signal);
      } catch {
        for (const i of part) fates.set(i, { kind: 'requeue', reason: 'shutdown' });
        continue;
      }
    }
    // When the request leaves late (a cold start, a loaded machine, a slow token provider), the grant log must
    // show when it really left, or the window HubSpot counts could hold one call too many. It is told as soon
    // as the request is out: grants up to a window later depend on it.
    let departed: Promise<unknown> | undefined;
    let left = false;
    const waitedMs = performance.now() - waitFrom;
    let at = Date.now();
    calls++;
    const span = startCallSpan({
      name: 'hubspot.batch_update',
      account,
      objectType,
      inputs: inputs.length,
      attempt: 1 + Math.max(...part.map((i) => maxAttempts(batch.inputs[i]))),
      callInBatch: calls,
      ...(options.batchId !== undefined ? { batchId: options.batchId } : {}),
      traceparents: part.flatMap((i) => (batch.inputs[i] as PreparedInput).members.map((m) => m.traceparent)),
    });
    const onSent = (sentAt: number) => {
      at = sentAt;
      left = true;
      departed = options.budget.departed(account, grant, sentAt).catch(() => undefined);
    };
    let answer: HubSpotAnswer;
    try {
      answer = await options.port.batchUpdate({
        account,
        objectType,
        inputs,
        signal: options.signal,
        onSent,
        ...(options.leaveWithinMs !== undefined ? { mustLeaveBy: confirmedAt + options.leaveWithinMs } : {}),
      });
    } catch (err) {
      endCallSpan(span, undefined);
      if (!hasErrorCode(err, ErrorCode.tokenUnavailable)) {
        // The port promises to answer rather than throw; whatever did throw (building the request, say) is
        // retried like a network failure, held only if the request had left.
        const error = { category: 'CLIENT_ERROR', message: err instanceof Error ? err.message : String(err) };
        for (const i of part)
          fates.set(i, { kind: 'retry', reason: 'network', error, ...(left ? { ambiguous: true } : {}) });
        continue;
      }
      // The token provider failed: treat it like rejected credentials, without spending attempts.
      const detail = `no usable token for account "${account}" (${err instanceof Error ? err.name : 'error'}); account paused, its updates stay queued`;
      await options.budget.pause(account, { durationMs: options.authPauseMs, reason: 'auth', detail });
      options.events?.onPause?.({ account, reason: 'auth', ms: options.authPauseMs, detail });
      for (const i of part) fates.set(i, { kind: 'requeue', reason: 'auth' });
      continue;
    }
    await departed;
    if (answer.kind === 'http') {
      await options.budget
        .report(account, grant, answer.rateLimit, options.accountBudget, { rejected: answer.status === 429 })
        .catch(() => {});
    }
    const verdict = classifyBatchAnswer(inputs, answer);
    endCallSpan(span, answer, verdict.kind === 'rateLimited' ? verdict.policyName : undefined);
    options.events?.onCall?.({
      account,
      objectType,
      size: inputs.length,
      answer,
      verdict,
      at,
      waitedMs,
      part,
    });

    switch (verdict.kind) {
      case 'settled': {
        const byTrace = new Map(
          part.map((i) => [(batch.inputs[i] as PreparedInput).input.objectWriteTraceId, i]),
        );
        for (const r of verdict.results) {
          const i = byTrace.get(r.objectWriteTraceId);
          if (i === undefined) continue;
          if (r.ok)
            fates.set(i, {
              kind: 'succeeded',
              ...(r.hubspotObjectId ? { hubspotObjectId: r.hubspotObjectId } : {}),
            });
          else if (r.retryable) {
            const reason = r.reason ?? 'input_error';
            // An input the answer does not account for may have applied.
            const ambiguous = ATTEMPT_POLICY[reason].ambiguous;
            fates.set(i, { kind: 'retry', reason, error: r.error, ...(ambiguous ? { ambiguous } : {}) });
          } else if (r.badProperties) fates.set(i, poisonFate(r.error, r.badProperties));
          else fates.set(i, { kind: 'failed', error: r.error });
        }
        break;
      }
      case 'retry': {
        // Only a request that left can still apply.
        const ambiguous = left && ATTEMPT_POLICY[verdict.reason].ambiguous;
        if (verdict.reason === 'aborted' && (options.signal.aborted || !left)) {
          const reason = options.signal.aborted ? 'shutdown' : 'not sent';
          for (const i of part)
            fates.set(i, { kind: 'requeue', reason, ...(ambiguous ? { ambiguous } : {}) });
          break;
        }
        for (const i of part) {
          fates.set(i, {
            kind: 'retry',
            reason: verdict.reason,
            error: verdict.error,
            ...(verdict.retryAfterMs !== undefined ? { retryAfterMs: verdict.retryAfterMs } : {}),
            ...(ambiguous ? { ambiguous } : {}),
          });
        }
        break;
      }
      case 'rateLimited': {
        const pause = rateLimitPause(verdict.policyName, verdict.retryAfterMs, options.accountBudget);
        const inForce = await options.budget.pause(account, pause.options);
        // The pause in force may be longer than the one asked for (another already was); DAILY's end is the
        // limiter's to compute.
        const ms = inForce?.ms ?? pause.ms ?? Number.POSITIVE_INFINITY;
        const { reason, detail = '' } = pause.options;
        options.events?.onPause?.({ account, reason, ms, policyName: verdict.policyName, detail });
        // A short pause is waited out holding the batch, which keeps it whole; a long one hands it back.
        if (ms <= options.maxInlinePauseMs && heldPauses++ === 0) queue.unshift(part);
        else for (const i of part) fates.set(i, { kind: 'requeue', reason: 'rate_limited' });
        break;
      }
      case 'authFailed': {
        if (answer.kind === 'http' && answer.tokenDropped && !renewedToken) {
          // HubSpot said the token expired and the provider dropped it: the next call takes a fresh one.
          renewedToken = true;
          queue.unshift(part);
          break;
        }
        const detail = `HubSpot rejected the credentials of account "${account}" (${verdict.error.category}: ${verdict.error.message}); account paused, its updates stay queued`;
        await options.budget.pause(account, { durationMs: options.authPauseMs, reason: 'auth', detail });
        options.events?.onPause?.({ account, reason: 'auth', ms: options.authPauseMs, detail });
        for (const i of part) fates.set(i, { kind: 'requeue', reason: 'auth' });
        break;
      }
      case 'failAll':
        for (const i of part) fates.set(i, { kind: 'failed', error: verdict.error });
        break;
      case 'tooLarge':
        // Nothing applied: halves go out again in this run, costing no attempt; a lone input is too large itself.
        if (part.length > 1) queue.unshift(...halves(part));
        else for (const i of part) fates.set(i, { kind: 'failed', error: verdict.error });
        break;
      case 'rejected': {
        const { poison, again } = isolate(batch, part, verdict);
        for (const [i, fate] of poison) fates.set(i, fate);
        queue.unshift(...again);
        break;
      }
    }
  }
  return fates;
}
