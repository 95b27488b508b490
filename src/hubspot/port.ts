/**
 * The boundary between the worker and HubSpot. The worker only sees this port; `client.ts` implements it over
 * HTTP with axios, and tests point that client at the simulator.
 */

/** One input of a batch-update call, as sent. Property values are already strings. */
export interface BatchInput {
  id: string;
  idProperty?: string;
  properties: Record<string, string>;
  objectWriteTraceId: string;
}

export interface BatchRequest {
  account: string;
  objectType: string;
  inputs: BatchInput[];
  /** Aborts the call (lease lost, shutdown). */
  signal?: AbortSignal;
  /**
   * Called once with the local time (ms) the request was handed to the operating system, so the rate limiter
   * can count the call where HubSpot will. Not called when the request never left.
   */
  onSent?: (at: number) => void;
  /**
   * `performance.now()` time after which the request must not leave: when the process gets to sending it later
   * (stalled, frozen), the call is not made and answers `ABORTED` without `onSent` having been called.
   */
  mustLeaveBy?: number;
}

/** A batch-read call: which records a unique property's values name (`POST .../{objectType}/batch/read`). */
export interface BatchReadRequest {
  account: string;
  objectType: string;
  /** The unique property the ids are values of, e.g. `email`. */
  idProperty: string;
  /** At most 100 values. */
  ids: string[];
  signal?: AbortSignal;
  /** As for {@link BatchRequest.onSent}. */
  onSent?: (at: number) => void;
  /** As for {@link BatchRequest.mustLeaveBy}. */
  mustLeaveBy?: number;
}

/** HubSpot's rate-limit headers of one response; each is absent when HubSpot did not send it. */
export interface RateLimitSnapshot {
  max?: number;
  remaining?: number;
  intervalMs?: number;
  daily?: number;
  dailyRemaining?: number;
  secondly?: number;
  secondlyRemaining?: number;
}

/** What came back from one call: an HTTP answer of any status, or a transport failure. Never throws. */
export type HubSpotAnswer =
  | {
      kind: 'http';
      status: number;
      /** Parsed JSON body, or the raw text when it was not JSON (gateway HTML). */
      body: unknown;
      rateLimit: RateLimitSnapshot;
      /** `Retry-After` in milliseconds, when present. */
      retryAfterMs?: number;
      correlationId?: string;
      latencyMs: number;
      /**
       * True when HubSpot refused the token as expired (401 EXPIRED_AUTHENTICATION) and the token provider was
       * told to drop it ({@link TokenProvider.invalidate}): the next call gets a fresh token.
       */
      tokenDropped?: boolean;
    }
  | {
      kind: 'transport';
      code: TransportErrorCode;
      message: string;
      latencyMs: number;
    };

export const TransportErrorCode = {
  timeout: 'TIMEOUT',
  reset: 'CONNECTION_RESET',
  refused: 'CONNECTION_REFUSED',
  network: 'NETWORK_ERROR',
  aborted: 'ABORTED',
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

/** A HubSpot property definition, the part the worker needs to validate values before sending them. */
export interface PropertyDefinition {
  name: string;
  /** HubSpot's `type`: string, number, bool, enumeration, date, datetime, phone_number, ... */
  type: string;
  /** For enumerations: the allowed option values. */
  options?: string[];
  hasUniqueValue?: boolean;
  /** Calculated and read-only properties cannot be written. */
  readOnly?: boolean;
}

/** The worker's view of HubSpot. */
export interface HubSpotPort {
  /** `POST /crm/objects/2026-03/{objectType}/batch/update`. */
  batchUpdate(request: BatchRequest): Promise<HubSpotAnswer>;
  /**
   * `POST /crm/objects/2026-03/{objectType}/batch/read` by a unique property, asking for that property: the answer's
   * results give each found record's id, its errors name the values no record has.
   */
  batchRead(request: BatchReadRequest): Promise<HubSpotAnswer>;
  /** `GET /crm/properties/2026-03/{objectType}`: the answer's body is HubSpot's property list. */
  getProperties(account: string, objectType: string, signal?: AbortSignal): Promise<HubSpotAnswer>;
}

/**
 * Supplies the bearer token of an account; library users may plug in OAuth refresh here. The optional
 * `invalidate` is told when HubSpot refused `token` as expired (401 EXPIRED_AUTHENTICATION): the provider drops it
 * (only it: a newer token another call already got stays) so that its next answer is a fresh one. Without it an
 * expired token pauses the account like any rejected credentials.
 */
export type TokenProvider = ((account: string) => Promise<string>) & {
  invalidate?: (account: string, token: string) => void | Promise<void>;
};
