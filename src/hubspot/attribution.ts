import type { BatchInput } from './port.js';
import { inputPropertyProblems } from './problems.js';
import { type BatchError, type BatchResponse, type BatchResult, contextStrings } from './responses.js';
import type { InputResult, VerdictError } from './verdict.js';

/**
 * Maps the results and errors of a COMPLETE 200/207 body back to the inputs that were sent. HubSpot's bodies
 * are legal but loose: results are unordered and seldom echo trace ids, an error may name an id string several
 * inputs share, and `numErrors` may count errors the body does not list. So an input succeeds only on evidence:
 * no error names it, and a result is positively its own, or the answer accounts for every input so that the
 * remaining results can only be theirs. Whatever the answer leaves open is retried, never guessed.
 */

/** The id property whose value is HubSpot's own record id, so results can be matched by it. */
const OWN_ID_PROPERTY = 'hs_object_id';

/** Category recorded on inputs HubSpot's answer neither confirms nor names. */
export const UNACCOUNTED_CATEGORY = 'UNACCOUNTED';

/** The HTTP facts of the answer that every per-input error carries. */
export interface AnswerFacts {
  status: number;
  correlationId?: string;
}

/** Finds inputs by the trace ids and id strings HubSpot names. */
export class InputIndex {
  private readonly byTrace = new Map<string, number>();
  private readonly byId = new Map<string, number[]>();
  private readonly byFoldedId = new Map<string, number[]>();

  constructor(inputs: readonly BatchInput[]) {
    inputs.forEach((input, i) => {
      if (!this.byTrace.has(input.objectWriteTraceId)) this.byTrace.set(input.objectWriteTraceId, i);
      push(this.byId, input.id, i);
      push(this.byFoldedId, input.id.toLowerCase(), i);
    });
  }

  /** The input sending this trace id. */
  trace(traceId: string): number | undefined {
    return this.byTrace.get(traceId);
  }

  /** Inputs sending this id string; HubSpot echoes emails in another case, so a miss is retried folded. */
  id(id: string): number[] {
    return this.byId.get(id) ?? this.byFoldedId.get(id.toLowerCase()) ?? [];
  }

  /** Inputs an error context names: by trace id, and by id only when it names no trace id of this batch. */
  named(traceIds: readonly string[], ids: readonly string[]): Set<number> {
    const found = new Set<number>();
    for (const t of traceIds) {
      const i = this.trace(t);
      if (i !== undefined) found.add(i);
    }
    if (found.size > 0) return found;
    for (const id of ids) for (const i of this.id(id)) found.add(i);
    return found;
  }
}

/**
 * One result per input, in input order; `undefined` when the answer confirms nothing at all (no input named by
 * an error, none confirmed), which the caller retries as a whole.
 */
export function attributeBatchAnswer(
  inputs: readonly BatchInput[],
  parsed: BatchResponse,
  facts: AnswerFacts,
): InputResult[] | undefined {
  const index = new InputIndex(inputs);
  const errors = parsed.errors ?? [];
  const results = parsed.results ?? [];
  const errorsOf = inputs.map((): BatchError[] => []);
  const gaps: string[] = [];
  const shared: Array<{ error: BatchError; id: string; candidates: number[] }> = [];

  for (const error of errors) {
    const traces = contextStrings(error.context, 'objectWriteTraceId');
    const byTrace = traces.map((t) => index.trace(t));
    if (byTrace.some((i) => i !== undefined)) {
      for (const i of byTrace) if (i !== undefined) errorsOf[i]?.push(error);
      if (byTrace.includes(undefined)) gaps.push(`an error names trace ids not in this batch`);
      continue;
    }
    const ids = contextStrings(error.context, 'ids');
    let pinned = 0;
    for (const id of ids) {
      const candidates = index.id(id);
      if (candidates.length === 1) errorsOf[candidates[0] as number]?.push(error);
      else if (candidates.length > 1) shared.push({ error, id, candidates });
      if (candidates.length > 0) pinned++;
    }
    if (pinned === 0) gaps.push(`an error names no input of this batch (${describeError(error)})`);
    else if (pinned < ids.length) gaps.push('an error names ids not in this batch');
  }

  const { confirmed, used } = confirmByResults(inputs, index, results, (i) => (errorsOf[i] ?? []).length > 0);

  // An id string several inputs share belongs to those a result does not already claim; if that leaves more
  // than one, HubSpot's answer cannot tell them apart.
  const ambiguous = new Map<number, string>();
  for (const { error, id, candidates } of shared) {
    const open = candidates.filter((i) => !confirmed.has(i));
    if (open.length === 1) {
      errorsOf[open[0] as number]?.push(error);
      continue;
    }
    const why =
      `an error (${describeError(error)}) names id ${JSON.stringify(id)}, which ${candidates.length} inputs ` +
      'of this batch share';
    gaps.push(why);
    for (const i of open.length > 0 ? open : candidates) {
      if ((errorsOf[i] ?? []).length === 0) ambiguous.set(i, why);
    }
  }

  const unnamed = inputs.flatMap((_, i) => ((errorsOf[i] ?? []).length === 0 ? [i] : []));
  if (parsed.numErrors !== undefined && parsed.numErrors !== errors.length) {
    gaps.push(`numErrors is ${parsed.numErrors} but ${errors.length} errors are listed`);
  }
  if (results.length !== unnamed.length) {
    gaps.push(`${results.length} results for ${unnamed.length} inputs no error names`);
  }
  // Elimination: every error is pinned and every input no error names has exactly one result, so the results
  // nothing else claimed belong to the inputs nothing else confirmed.
  const accounted = gaps.length === 0;
  if (accounted) {
    const openInputs = unnamed.filter((i) => !confirmed.has(i));
    const openResults = results.flatMap((r, k) => (used.has(k) || r.id === undefined ? [] : [r.id]));
    for (const i of openInputs) confirmed.set(i, undefined);
    if (openInputs.length === 1 && openResults.length === 1)
      confirmed.set(openInputs[0] as number, openResults[0]);
  }

  const out = inputs.map((input, i): InputResult => {
    const trace = input.objectWriteTraceId;
    const own = errorsOf[i] ?? [];
    const final = own.filter((e) => !isRetryableInputCategory(e.category ?? 'UNKNOWN'));
    const chosen = final[0] ?? own[0];
    if (chosen) {
      const result = failure(trace, chosen, facts);
      const bad = final.length > 0 ? inputPropertyProblems(input, final) : undefined;
      return bad && !result.ok ? { ...result, badProperties: bad } : result;
    }
    const why = ambiguous.get(i);
    if (why === undefined && confirmed.has(i)) {
      const objectId = confirmed.get(i);
      return objectId !== undefined
        ? { objectWriteTraceId: trace, ok: true, hubspotObjectId: objectId }
        : { objectWriteTraceId: trace, ok: true };
    }
    return unaccounted(trace, why ?? gaps.join('; '), facts);
  });
  const anything = out.some((r) => r.ok || r.reason !== 'unaccounted');
  return anything ? out : undefined;
}

/**
 * Inputs a result positively belongs to, with HubSpot's record id from it: a result echoing the input's trace
 * id; a result whose `id` is the input's id when the input addresses the record by HubSpot id; a result whose
 * properties carry the input's idProperty with the input's id. Each result confirms one input at most, and
 * inputs an error already names are not matched by id or property (their record is not in the results).
 */
function confirmByResults(
  inputs: readonly BatchInput[],
  index: InputIndex,
  results: readonly BatchResult[],
  isNamed: (i: number) => boolean,
): { confirmed: Map<number, string | undefined>; used: Set<number> } {
  const confirmed = new Map<number, string | undefined>();
  const used = new Set<number>();
  const claim = (i: number, k: number) => {
    confirmed.set(i, results[k]?.id);
    used.add(k);
  };
  results.forEach((result, k) => {
    if (result.objectWriteTraceId === undefined) return;
    const i = index.trace(result.objectWriteTraceId);
    if (i !== undefined && !confirmed.has(i)) claim(i, k);
  });
  const open = inputs.flatMap((_, i) => (confirmed.has(i) || isNamed(i) ? [] : [i]));
  const byRecordId = (input: BatchInput) =>
    input.idProperty === undefined || input.idProperty === OWN_ID_PROPERTY;
  for (const i of open) {
    const input = inputs[i] as BatchInput;
    if (!byRecordId(input)) continue;
    const k = results.findIndex((r, k) => !used.has(k) && r.id === input.id);
    if (k >= 0) claim(i, k);
  }
  for (const i of open) {
    const input = inputs[i] as BatchInput;
    if (byRecordId(input) || confirmed.has(i)) continue;
    const property = input.idProperty as string;
    const holds = (r: BatchResult, folded: boolean) => {
      const v = r.properties?.[property];
      const text = typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
      return (
        text !== undefined && (folded ? text.toLowerCase() === input.id.toLowerCase() : text === input.id)
      );
    };
    let k = results.findIndex((r, k) => !used.has(k) && holds(r, false));
    if (k < 0) k = results.findIndex((r, k) => !used.has(k) && holds(r, true));
    if (k >= 0) claim(i, k);
  }
  return { confirmed, used };
}

/**
 * Whether a 207 error category is worth another try for the input it names. Unknown categories are retried: a
 * spent attempt costs less than failing an update for good on a category we have never seen.
 */
export const INPUT_CATEGORY_RETRYABLE: Readonly<Record<string, boolean>> = {
  OBJECT_NOT_FOUND: false,
  VALIDATION_ERROR: false,
  CONFLICT: false,
  OBJECT_ALREADY_EXISTS: false,
  BAD_REQUEST: false,
  INVALID_PARAMS: false,
  UNSUPPORTED: false,
  RATE_LIMIT: true,
  RATE_LIMITS: true,
  INTERNAL_ERROR: true,
  SERVER_ERROR: true,
  LOCKED: true,
  TIMEOUT: true,
};

/** See {@link INPUT_CATEGORY_RETRYABLE}. */
export function isRetryableInputCategory(category: string): boolean {
  return INPUT_CATEGORY_RETRYABLE[category] ?? true;
}

const MAX_MESSAGE_LENGTH = 1000;

/** Cuts a message to what an outcome record keeps. */
export function clip(text: string): string {
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : text;
}

function verdictError(category: string, message: string, facts: AnswerFacts): VerdictError {
  const error: VerdictError = { category, message: clip(message), httpStatus: facts.status };
  if (facts.correlationId) error.correlationId = facts.correlationId;
  return error;
}

function failure(trace: string, error: BatchError, facts: AnswerFacts): InputResult {
  const category = error.category ?? 'UNKNOWN';
  const message = error.message ?? 'HubSpot reported an error for this input';
  return {
    objectWriteTraceId: trace,
    ok: false,
    error: verdictError(category, message, facts),
    retryable: isRetryableInputCategory(category),
  };
}

function unaccounted(trace: string, why: string, facts: AnswerFacts): InputResult {
  const message = `HubSpot's answer (HTTP ${facts.status}) neither confirms nor names this input: ${why}`;
  return {
    objectWriteTraceId: trace,
    ok: false,
    error: verdictError(UNACCOUNTED_CATEGORY, message, facts),
    retryable: true,
    reason: 'unaccounted',
  };
}

function describeError(error: BatchError): string {
  const category = error.category ?? 'UNKNOWN';
  return error.message ? `${category}: ${error.message}` : category;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
