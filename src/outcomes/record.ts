import type { Outcome, OutcomeError } from './outcome.js';

/**
 * What the outcome record of an update of a batch is built from, besides what its object key says (account,
 * object type, id): finish.lua builds the record, so its shape is written in one place.
 */
export interface EndFacts {
  trace: string;
  /** The address the update used, when it is not its object's key (a unique property's value for a record). */
  id?: string;
  idProperty?: string;
  attempts: number;
  enqueuedAt: number;
  /** Fingerprint of the update's canonical job data (`fingerprintOfJobData`). */
  fp?: string;
  hubspotObjectId?: string;
  error?: OutcomeError;
  /** `interactive` for an update of the interactive lane; absent for bulk. */
  priority?: 'interactive';
  /** When the queue took the update in (epoch ms), for `explain`. */
  ingestedAt?: number;
  /** The batches the update was in, oldest first, comma-separated (bounded): `explain` reads their stories. */
  hist?: string;
}

/**
 * The facts of a record with no object key to read them from (a job that could not be routed); its enqueue time
 * is the job's own.
 */
export interface RecordFacts extends Omit<EndFacts, 'enqueuedAt' | 'id'> {
  account: string;
  objectType: string;
  id: string;
}

/**
 * An outcome as stored in Redis: the {@link Outcome} plus internal fields readers strip. `fp` fingerprints the
 * update the trace id was used for, so a finished update's trace id (its job gone) can still be told apart from
 * a different update reusing it.
 */
export type StoredOutcome = Outcome & { fp?: string; hist?: string; ingestedAt?: number };

/** Reads a stored outcome record for users: internal fields (kept for `explain`) are left out. */
export function parseOutcomeRecord(record: string): Outcome {
  const { fp: _fp, hist: _hist, ingestedAt: _ingestedAt, ...outcome } = JSON.parse(record) as StoredOutcome;
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
