import type { OutcomeError } from '../outcomes/outcome.js';
import type { PropertyProblem } from './error-messages.js';
import type { RetryReason } from './policy.js';

/** What `classifyBatchAnswer` makes of one HubSpot answer: the verdict and its parts. */

/** An {@link OutcomeError} plus HubSpot's correlation id, which HubSpot support asks for. */
export type VerdictError = OutcomeError & { correlationId?: string };

/**
 * The fate of one input of a settled batch. A failure HubSpot names carries its category; `reason:
 * 'unaccounted'` marks an input the answer neither confirms nor names, which is retried because the call may
 * have applied it.
 */
export type InputResult =
  | { objectWriteTraceId: string; ok: true; hubspotObjectId?: string }
  | {
      objectWriteTraceId: string;
      ok: false;
      error: VerdictError;
      retryable: boolean;
      reason?: 'unaccounted';
      /**
       * The property values HubSpot refused, when that is all its errors for the input say (a VALIDATION_ERROR
       * naming a property the input writes): only the updates that wrote them fail, as for a 400.
       */
      badProperties?: PropertyProblem[];
    };

/** What a 400 tells about which inputs poisoned the batch. */
export interface PoisonHint {
  /**
   * Trace ids of inputs the answer implicates for certain: named, holding the quoted offending value, the only
   * one setting an offending property, setting a property that cannot be written at all, or using a
   * non-unique id property.
   */
  traceIds: string[];
  /** Per trace id implicated by a property problem, those problems (with HubSpot's message on each). */
  badProperties: Record<string, PropertyProblem[]>;
  /** Trace ids of inputs that set an offending property but could not be singled out: bisected, not failed. */
  suspects: string[];
  /** Ids HubSpot named in the error context. */
  ids: string[];
  properties: PropertyProblem[];
  /** Ids HubSpot says occur more than once; those inputs belong in separate batches, they are not bad. */
  duplicateIds: string[];
  batchTooLarge: boolean;
  nonUniqueIdProperty?: string;
}

/** What to do with a batch after one HubSpot call. */
export type BatchVerdict =
  | { kind: 'settled'; httpStatus: number; results: InputResult[] }
  | { kind: 'retry'; reason: RetryReason; error: VerdictError; retryAfterMs?: number }
  | { kind: 'rateLimited'; policyName: string; error: VerdictError; retryAfterMs?: number }
  | { kind: 'authFailed'; error: VerdictError }
  | { kind: 'rejected'; error: VerdictError; poison: PoisonHint }
  /** HTTP 413: the part is split and sent again; a lone input fails. */
  | { kind: 'tooLarge'; reason: 'payload_too_large'; error: VerdictError }
  | { kind: 'failAll'; error: VerdictError };

/** HubSpot's 429 policy names; `UNKNOWN` when the answer names none. */
export const RateLimitPolicy = {
  tenSecondlyRolling: 'TEN_SECONDLY_ROLLING',
  secondly: 'SECONDLY',
  daily: 'DAILY',
  unknown: 'UNKNOWN',
} as const;
