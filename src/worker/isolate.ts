import type { PropertyProblem } from '../hubspot/error-messages.js';
import type { BatchVerdict } from '../hubspot/verdict.js';
import type { OutcomeError } from '../outcomes/outcome.js';
import type { PreparedBatch, PreparedInput } from './prepare.js';

/** A poison input: the updates that wrote the bad properties fail, the others go back to be sent again. */
export interface PoisonFate {
  kind: 'poison';
  error: OutcomeError;
  badProperties: string[];
}

/**
 * The fate of an input HubSpot refused property values of, in a 400 or a 207: its error says what was wrong with
 * each (HubSpot's messages), and only the updates that wrote those properties fail (see `buildSettlePlan`).
 */
export function poisonFate(error: OutcomeError, problems: readonly PropertyProblem[]): PoisonFate {
  const message = problems.length > 0 ? problems.map((p) => p.message).join('; ') : error.message;
  return {
    kind: 'poison',
    error: { ...error, message },
    badProperties: [...new Set(problems.map((p) => p.name))],
  };
}

/** What a rejected part becomes: its poison inputs, and the parts to send again next, in order. */
export interface Isolation {
  poison: Map<number, PoisonFate>;
  again: number[][];
}

/** A part cut in two, the first half the larger. */
export function halves(part: number[]): number[][] {
  const mid = Math.ceil(part.length / 2);
  return [part.slice(0, mid), part.slice(mid)];
}

/**
 * Splits a part HubSpot rejected with a 400 into poison inputs (failed) and the rest (sent again), or bisects it.
 * Only inputs the hint implicates for certain fail; inputs that merely set an offending property are suspects,
 * halved until each bad one is alone, so extra calls stay near log2(size) per poison input.
 */
export function isolate(
  batch: PreparedBatch,
  part: number[],
  verdict: Extract<BatchVerdict, { kind: 'rejected' }>,
): Isolation {
  const poisoned = new Map<number, PoisonFate>();
  const hint = verdict.poison;
  const trace = (i: number) => (batch.inputs[i] as PreparedInput).input.objectWriteTraceId;
  if (hint.batchTooLarge && part.length > 1) return { poison: poisoned, again: halves(part) };
  const implicated = new Set(hint.traceIds);
  const poison = part.filter((i) => implicated.has(trace(i)));
  const fail = (i: number) => poisoned.set(i, poisonFate(verdict.error, hint.badProperties[trace(i)] ?? []));

  if (poison.length > 0) {
    for (const i of poison) fail(i);
    const rest = part.filter((i) => !implicated.has(trace(i)));
    return { poison: poisoned, again: rest.length > 0 ? [rest] : [] };
  }
  if (part.length === 1) {
    fail(part[0] as number);
    return { poison: poisoned, again: [] };
  }
  // Nothing singled out: send the unsuspected inputs on their own and halve the suspects (or everything).
  const suspected = new Set(hint.suspects);
  const suspects = part.filter((i) => suspected.has(trace(i)));
  const pool = suspects.length > 0 && suspects.length < part.length ? suspects : part;
  const rest = part.filter((i) => !pool.includes(i));
  return {
    poison: poisoned,
    again: [...(rest.length > 0 ? [rest] : []), ...(pool.length > 1 ? halves(pool) : [pool])],
  };
}
