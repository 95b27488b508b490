/** Where an update stands. `succeeded`, `failed` and `superseded` are terminal. */
export const OutcomeStatus = {
  queued: 'queued',
  retrying: 'retrying',
  succeeded: 'succeeded',
  failed: 'failed',
  superseded: 'superseded',
} as const;
export type OutcomeStatus = (typeof OutcomeStatus)[keyof typeof OutcomeStatus];

export const TERMINAL_STATUSES: ReadonlySet<OutcomeStatus> = new Set(['succeeded', 'failed', 'superseded']);

/** Why an update failed (or last failed, while `retrying`): HubSpot's category and message where it gave one. */
export interface OutcomeError {
  category: string;
  message: string;
  httpStatus?: number;
}

/** The recorded result of one update, looked up by its `objectWriteTraceId`. */
export interface Outcome {
  objectWriteTraceId: string;
  status: OutcomeStatus;
  account: string;
  objectType: string;
  id: string;
  idProperty?: string;
  /** HubSpot calls that carried this update and counted as attempts. */
  attempts: number;
  /** Epoch milliseconds. */
  enqueuedAt: number;
  finishedAt?: number;
  hubspotObjectId?: string;
  error?: OutcomeError;
  /** `interactive` when the update was enqueued in the interactive lane; absent for the default `bulk`. */
  priority?: 'interactive';
}

export function isTerminal(status: OutcomeStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}
