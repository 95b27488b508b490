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
}

/** Splits an object key (`account|objectType|idProperty|id`) back into its parts. */
export function parseObjectKey(objectKey: string): {
  account: string;
  objectType: string;
  idProperty?: string;
  id: string;
} {
  const [account = '', objectType = '', idProperty = '', ...rest] = objectKey.split('|');
  return { account, objectType, ...(idProperty ? { idProperty } : {}), id: rest.join('|') };
}

/** Builds the outcome record stored in Redis; optional fields are left out rather than set to undefined. */
export function buildOutcome(facts: OutcomeFacts): Outcome {
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
  };
}
