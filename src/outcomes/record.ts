import { parseObjectKey } from '../keys.js';
import type { Outcome, OutcomeError, OutcomeStatus } from './outcome.js';

/** What an outcome record is built from: the object an update addresses and how far it got. */
export interface OutcomeFacts {
  objectWriteTraceId: string;
  objectKey: string;
  idProperty?: string;
  status: OutcomeStatus;
  attempts: number;
  enqueuedAt: number;
  finishedAt?: number;
  hubspotObjectId?: string;
  error?: OutcomeError;
  /** Fingerprint of the update's canonical job data (`fingerprintOfJobData`). */
  fingerprint?: string;
}

/**
 * An outcome as stored in Redis: the {@link Outcome} plus internal fields readers strip. `fp` fingerprints the
 * update the trace id was used for, so a finished update's trace id (its job gone) can still be told apart from
 * a different update reusing it.
 */
export type StoredOutcome = Outcome & { fp?: string };

/** Builds the outcome record stored in Redis; optional fields are left out rather than set to undefined. */
export function buildOutcome(facts: OutcomeFacts): StoredOutcome {
  const { account, objectType, idProperty, id } = parseObjectKey(facts.objectKey);
  return {
    objectWriteTraceId: facts.objectWriteTraceId,
    status: facts.status,
    account,
    objectType,
    id,
    ...(idProperty ? { idProperty } : {}),
    attempts: facts.attempts,
    enqueuedAt: facts.enqueuedAt,
    ...(facts.finishedAt !== undefined ? { finishedAt: facts.finishedAt } : {}),
    ...(facts.hubspotObjectId ? { hubspotObjectId: facts.hubspotObjectId } : {}),
    ...(facts.error ? { error: facts.error } : {}),
    ...(facts.fingerprint ? { fp: facts.fingerprint } : {}),
  };
}

/** Reads a stored outcome record for users: internal fields are left out. */
export function parseOutcomeRecord(record: string): Outcome {
  const { fp: _fp, ...outcome } = JSON.parse(record) as StoredOutcome;
  return outcome;
}

/** The fingerprint a stored outcome record keeps, if it has one (records written before it existed do not). */
export function fingerprintOfRecord(record: string): string | undefined {
  try {
    const fp = (JSON.parse(record) as { fp?: unknown }).fp;
    return typeof fp === 'string' ? fp : undefined;
  } catch {
    return undefined;
  }
}
