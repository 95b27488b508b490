import type { HubSpotAnswer } from '../hubspot/port.js';
import { HISTORY_LIMIT } from '../keys.js';
import type { PreparedBatch } from '../worker/prepare.js';

/**
 * One batch's story, as settle stores it (`story:<batchId>`, for the outcome TTL): the record `explain` reads for
 * every update the batch held. One record per batch, listing its members, keeps the cost per update to a pointer
 * (the batch id in the update's outcome record, or in its job while it stays queued).
 */

/** One HubSpot call of a batch. */
export interface StoryCall {
  /** When the request left (epoch ms, the worker's clock); when it was tried, for one that never left. */
  at: number;
  /** HTTP status, or the transport failure's code (`TIMEOUT`, `CONNECTION_RESET`, ...). */
  status: number | string;
  /** HubSpot's `X-HubSpot-Correlation-Id`, when it answered with one. */
  correlationId?: string;
  /** How long the batch waited for rate budget before this call (ms). */
  waitedMs: number;
  latencyMs: number;
  /** The policy of a 429 (`TEN_SECONDLY_ROLLING`, `DAILY`, ...). */
  policyName?: string;
  /** The inputs the call carried (indexes into {@link BatchStory.inputs}); absent when it carried all of them. */
  inputs?: number[];
}

/** What settle stores for one batch. */
export interface BatchStory {
  v: 1;
  batchId: string;
  account: string;
  objectType: string;
  /** When the batch was claimed (epoch ms, Redis's clock). */
  claimedAt?: number;
  /**
   * Per input (one object), the updates merged into it: `[trace id, attempts before this batch]`, in sequence
   * order of the values they wrote (riders, whose values were all overwritten, last).
   */
  inputs: Array<Array<[string, number]>>;
  /** Updates decided before any call: `[trace id, decision]` (`superseded`, `failed: CATEGORY`, `requeue: why`). */
  early: Array<[string, string]>;
  calls: StoryCall[];
}

/** What the sender reports of one call, for the story. */
export interface CallFacts {
  at: number;
  waitedMs: number;
  /** Input indexes the call carried. */
  part: readonly number[];
  answer: HubSpotAnswer;
  policyName?: string;
}

/** The story record of a batch from its prepared inputs and the calls it made. Pure. */
export function buildBatchStory(
  batchId: string,
  claimedAt: number | undefined,
  batch: PreparedBatch,
  calls: readonly CallFacts[],
): BatchStory {
  const all = batch.inputs.length;
  return {
    v: 1,
    batchId,
    account: batch.account,
    objectType: batch.objectType,
    ...(claimedAt !== undefined ? { claimedAt } : {}),
    inputs: batch.inputs.map((p) => p.members.map((m): [string, number] => [m.trace, m.entry.attempts])),
    early: batch.early.map((d): [string, string] => [
      d.member.trace,
      d.status === 'failed'
        ? `failed: ${d.error.category}`
        : d.status === 'requeue'
          ? `requeue: ${d.reason}`
          : d.status,
    ]),
    calls: calls.map((c) => {
      const { answer } = c;
      const call: StoryCall = {
        at: c.at,
        status: answer.kind === 'http' ? answer.status : answer.code,
        waitedMs: Math.round(c.waitedMs),
        latencyMs: Math.round(answer.latencyMs),
      };
      if (answer.kind === 'http' && answer.correlationId) call.correlationId = answer.correlationId;
      if (c.policyName) call.policyName = c.policyName;
      if (c.part.length !== all) call.inputs = [...c.part];
      return call;
    }),
  };
}

/** An update's batch history with `batchId` appended, bounded to the latest `HISTORY_LIMIT` (as `K.withBatch`). */
export function withBatch(history: readonly string[] | undefined, batchId: string): string {
  const list = (history ?? []).filter((b) => b !== batchId);
  list.push(batchId);
  return list.slice(-HISTORY_LIMIT).join(',');
}
