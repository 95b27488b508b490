/**
 * Records the simulator hands out to tests and benchmarks: stored objects, the call log and its totals.
 * Everything here is plain JSON so the in-process API and the `/_sim/` HTTP API return the same shapes.
 */

/** HubSpot's rate-limit policy names, as they appear in 429 bodies. */
export const PolicyName = {
  tenSecondlyRolling: 'TEN_SECONDLY_ROLLING',
  secondly: 'SECONDLY',
  daily: 'DAILY',
} as const;
export type PolicyName = (typeof PolicyName)[keyof typeof PolicyName];

/** The policy a portal's short window reports; DAILY is always enforced separately. */
export type WindowPolicyName = Exclude<PolicyName, 'DAILY'>;

/** One CRM object as the simulator stores it. System properties are not part of `properties`. */
export interface SimObject {
  /** HubSpot's internal record id (numeric string). */
  id: string;
  /** User-visible property values; a cleared property is stored as an empty string. */
  properties: Record<string, string>;
  /** ISO timestamp of creation. */
  createdAt: string;
  /** ISO timestamp of the last applied write. */
  updatedAt: string;
  /** Number of batch-update inputs applied to this object; tells a test whether a write landed twice. */
  version: number;
  /**
   * Extra values of unique properties that also name this object, by property: a merged record's emails. Absent
   * when there are none.
   */
  aliases?: Record<string, string[]>;
}

/** The fault a call suffered, as recorded in the call log. */
export const FaultKind = {
  error5xx: 'error5xx',
  canceled: 'canceled',
  ambiguous504: 'ambiguous504',
  reset: 'reset',
  resetAfterApply: 'resetAfterApply',
  locked423: 'locked423',
  migration477: 'migration477',
  hang: 'hang',
  /** The write is held and applies `lateApplyMs` after arrival, then answered (its client has given up). */
  lateApply: 'lateApply',
  /** Scripted only: an explicit status and body. */
  status: 'status',
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/** A fault that ended a call, plus `unreachable` for calls dropped during a simulated outage. */
export type RecordedFault = FaultKind | 'unreachable';

/** What the simulator saw of one API call (control and health routes are not logged). */
export interface CallRecord {
  /** 1-based sequence number, increasing with arrival order. */
  seq: number;
  /** Arrival time on the simulator's clock (host time plus `clockOffsetMs`), ms since the epoch. */
  at: number;
  /** Portal the token resolved to, or null when it resolved to none (unknown token, outage). */
  portal: string | null;
  method: string;
  path: string;
  /** Object type as written in the path, or null for routes without one. */
  objectType: string | null;
  /**
   * Which endpoint the call reached: `batchUpdate` (a write), `batchRead` (a read: its inputs are the ids or
   * values looked up), `properties`, or null for an unknown route.
   */
  endpoint: 'batchUpdate' | 'batchRead' | 'properties' | null;
  /** HTTP status answered, or `reset` when the socket was destroyed without an answer. */
  status: number | 'reset';
  /** Number of inputs of a batch-update or batch-read body (0 when the body could not be parsed). */
  inputCount: number;
  /** Input ids, as sent. */
  ids: string[];
  /** Input idProperty values, as sent (null when absent), aligned with `ids`. */
  idProperties: Array<string | null>;
  /** Input trace ids, as sent (null when absent), aligned with `ids`. */
  traceIds: Array<string | null>;
  fault?: RecordedFault;
  /** The `X-HubSpot-Correlation-Id` the answer carried (absent for calls dropped before one was made). */
  correlationId?: string;
  /** For 429s: the policy that refused the call. */
  policyName?: PolicyName;
  /** Time from arrival to the end of the answer (or of the reset). */
  latencyMs: number;
}

/** Totals over every call since start or the last reset. */
export interface SimStats {
  /** API calls logged (outside-client arrivals excluded). */
  calls: number;
  /** Count of calls by status (`"200"`, `"429"`, `"reset"`, ...). */
  byStatus: Record<string, number>;
  /** 429s by policy name, own calls only. */
  rateLimited: Record<string, number>;
  /**
   * Per portal: the largest number of arrivals (429s and outside-client calls included) ever held by the
   * portal's rolling window. A benchmark proves it never exceeded the limit when this is <= maxRequests.
   */
  maxCallsInAnyWindow: Record<string, number>;
  /** Arrivals of outside clients, per portal. */
  outsideCalls: Record<string, number>;
  /** Calls by endpoint (`batchUpdate`, `batchRead`, `properties`, `unknown`): reads and writes apart. */
  byEndpoint: Record<string, number>;
  /** Inputs of every batch-update body that parsed, applied or not. */
  inputsTotal: number;
  /** Inputs of every batch-read body that parsed, found or not. */
  readInputsTotal: number;
  /** Records batch-reads answered (each record once per call). */
  recordsRead: number;
  /** Inputs applied to an object (including writes that were then answered with a fault). */
  inputsApplied: number;
  /** Batches rejected because two inputs had the same (idProperty, id). */
  duplicateIdBatches: number;
  /** Batches (updates and reads) rejected for holding more than 100 inputs. */
  oversizeBatches: number;
  /** Batches rejected by property validation. */
  invalidPropertyBatches: number;
  /** Calls that suffered a fault, by kind. */
  faults: Record<string, number>;
}
