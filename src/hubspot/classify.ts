import type { OutcomeError } from '../outcomes/outcome.js';
import type { RetryReason } from './policy.js';
import type { BatchInput, HubSpotAnswer, TransportErrorCode } from './port.js';
import {
  type BatchError,
  type BatchResponse,
  BatchStatus,
  contextStrings,
  type HubSpotErrorBody,
  isBatchTooLargeMessage,
  offendingValue,
  type PropertyProblem,
  parseBatchResponse,
  parseDuplicateIds,
  parseErrorBody,
  parseInvalidPropertiesMessage,
  parseNonUniqueIdProperty,
} from './responses.js';

/** An {@link OutcomeError} plus HubSpot's correlation id, which HubSpot support asks for. */
export type VerdictError = OutcomeError & { correlationId?: string };

/** The fate of one input of a settled batch. */
export type InputResult =
  | { objectWriteTraceId: string; ok: true; hubspotObjectId?: string }
  | { objectWriteTraceId: string; ok: false; error: VerdictError; retryable: boolean };

/** What a 400 tells about which inputs poisoned the batch. */
export interface PoisonHint {
  /** Trace ids of inputs the answer implicates (named, or holding an offending property or id property). */
  traceIds: string[];
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
  | { kind: 'failAll'; error: VerdictError };

/** HubSpot's 429 policy names; `UNKNOWN` when the answer names none. */
export const RateLimitPolicy = {
  tenSecondlyRolling: 'TEN_SECONDLY_ROLLING',
  secondly: 'SECONDLY',
  daily: 'DAILY',
  unknown: 'UNKNOWN',
} as const;

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

const TRANSPORT_REASON = {
  TIMEOUT: 'timeout',
  CONNECTION_RESET: 'connection_reset',
  CONNECTION_REFUSED: 'connection_refused',
  NETWORK_ERROR: 'network',
  ABORTED: 'aborted',
} as const satisfies Record<TransportErrorCode, RetryReason>;

const DEFAULT_CATEGORY: Readonly<Record<number, string>> = {
  400: 'VALIDATION_ERROR',
  401: 'INVALID_AUTHENTICATION',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'TIMEOUT',
  423: 'LOCKED',
  429: 'RATE_LIMIT',
  477: 'MIGRATION_IN_PROGRESS',
};

const MAX_MESSAGE_LENGTH = 1000;
/** The id property whose value is HubSpot's own record id, so results can be matched by it. */
const OWN_ID_PROPERTY = 'hs_object_id';

/**
 * Maps one HubSpot answer for `inputs` to what the worker does next. Pure: the same inputs and answer always give
 * the same verdict. A settled verdict has exactly one result per input, in input order.
 */
export function classifyBatchAnswer(inputs: BatchInput[], answer: HubSpotAnswer): BatchVerdict {
  if (answer.kind === 'transport') {
    return {
      kind: 'retry',
      reason: TRANSPORT_REASON[answer.code] ?? 'network',
      error: { category: answer.code, message: clip(answer.message) },
    };
  }
  const { status } = answer;
  const retryAfter = answer.retryAfterMs !== undefined ? { retryAfterMs: answer.retryAfterMs } : {};
  if (status >= 200 && status < 300) return classifySuccess(inputs, answer);
  const body = parseErrorBody(answer.body);
  const error = httpError(status, answer.body, body, answer.correlationId);
  if (status === 400) return { kind: 'rejected', error, poison: poisonHint(inputs, body) };
  if (status === 401 || status === 403) return { kind: 'authFailed', error };
  if (status === 408) return { kind: 'retry', reason: 'timeout', error, ...retryAfter };
  if (status === 423) return { kind: 'retry', reason: 'locked_423', error, ...retryAfter };
  if (status === 429) return { kind: 'rateLimited', policyName: policyNameOf(body), error, ...retryAfter };
  if (status === 477) return { kind: 'retry', reason: 'migration_477', error, ...retryAfter };
  if (status >= 500) return { kind: 'retry', reason: 'server_error', error, ...retryAfter };
  if (status >= 400) return { kind: 'failAll', error };
  return { kind: 'retry', reason: 'unexpected_response', error, ...retryAfter };
}

type HttpAnswer = Extract<HubSpotAnswer, { kind: 'http' }>;

function classifySuccess(inputs: BatchInput[], answer: HttpAnswer): BatchVerdict {
  const parsed = parseBatchResponse(answer.body);
  const correlation = answer.correlationId ? { correlationId: answer.correlationId } : {};
  const unexpected = (message: string): BatchVerdict => ({
    kind: 'retry',
    reason: 'unexpected_response',
    error: { category: 'UNEXPECTED_RESPONSE', message, httpStatus: answer.status, ...correlation },
  });
  if (!parsed) return unexpected(`HTTP ${answer.status} from HubSpot without a batch response body`);
  if (parsed.status !== BatchStatus.complete) {
    const batchStatus = parsed.status ?? 'MISSING';
    return {
      kind: 'retry',
      reason: parsed.status === BatchStatus.canceled ? 'canceled' : 'incomplete',
      error: {
        category: `BATCH_${batchStatus}`,
        message: `HubSpot answered HTTP ${answer.status} with batch status ${batchStatus}`,
        httpStatus: answer.status,
        ...correlation,
      },
    };
  }
  const errors = parsed.errors ?? [];
  if ((parsed.numErrors ?? 0) > 0 && errors.length === 0) {
    return unexpected(`HubSpot reported ${parsed.numErrors} errors without listing them`);
  }
  return { kind: 'settled', httpStatus: answer.status, results: settle(inputs, parsed, answer) };
}

/** Finds inputs by the trace ids and ids HubSpot names. */
class InputIndex {
  private readonly byTrace = new Map<string, number[]>();
  private readonly byId = new Map<string, number[]>();
  private readonly byFoldedId = new Map<string, number[]>();

  constructor(inputs: BatchInput[]) {
    inputs.forEach((input, i) => {
      push(this.byTrace, input.objectWriteTraceId, i);
      push(this.byId, input.id, i);
      push(this.byFoldedId, input.id.toLowerCase(), i);
    });
  }

  /** Inputs an error context names. An id HubSpot echoes in another case (emails) is matched case-insensitively. */
  named(traceIds: string[], ids: string[]): Set<number> {
    const found = new Set<number>();
    for (const t of traceIds) for (const i of this.byTrace.get(t) ?? []) found.add(i);
    for (const id of ids) {
      for (const i of this.byId.get(id) ?? this.byFoldedId.get(id.toLowerCase()) ?? []) found.add(i);
    }
    return found;
  }
}

function settle(inputs: BatchInput[], parsed: BatchResponse, answer: HttpAnswer): InputResult[] {
  const index = new InputIndex(inputs);
  const errorsOf = inputs.map((): BatchError[] => []);
  const unattributed: BatchError[] = [];
  for (const error of parsed.errors ?? []) {
    const named = index.named(
      contextStrings(error.context, 'objectWriteTraceId'),
      contextStrings(error.context, 'ids'),
    );
    if (named.size === 0) unattributed.push(error);
    for (const i of named) errorsOf[i]?.push(error);
  }
  // With an error we cannot pin on an input, elimination would clear an input on no evidence.
  const objectIds = matchResults(inputs, index, parsed, errorsOf, unattributed.length === 0);
  const toResult = (input: BatchInput, i: number): InputResult => {
    const trace = input.objectWriteTraceId;
    const own = errorsOf[i] ?? [];
    const chosen = own.find((e) => !isRetryableInputCategory(e.category ?? 'UNKNOWN')) ?? own[0];
    if (chosen) return failure(trace, chosen, answer, isRetryableInputCategory(chosen.category ?? 'UNKNOWN'));
    const objectId = objectIds[i];
    // An error we cannot pin on an input may be any input's; only a result that positively matches clears one.
    const fallback = unattributed[0];
    if (fallback && objectId === undefined) return failure(trace, fallback, answer, true);
    return objectId !== undefined
      ? { objectWriteTraceId: trace, ok: true, hubspotObjectId: objectId }
      : { objectWriteTraceId: trace, ok: true };
  };
  return inputs.map(toResult);
}

/**
 * HubSpot's record id for each succeeded input, where a result can be pinned on it: by an echoed trace id, by
 * the id itself when the input addressed the record by HubSpot id, or by elimination when one of each is left.
 */
function matchResults(
  inputs: BatchInput[],
  index: InputIndex,
  parsed: BatchResponse,
  errorsOf: BatchError[][],
  allowElimination: boolean,
): Array<string | undefined> {
  const ids: Array<string | undefined> = inputs.map(() => undefined);
  const results = (parsed.results ?? []).filter((r) => r.id !== undefined);
  const used = new Set<number>();
  const isSucceeded = (i: number) => (errorsOf[i] ?? []).length === 0;
  const succeeded = inputs.flatMap((_, i) => (isSucceeded(i) ? [i] : []));
  results.forEach((result, r) => {
    if (result.objectWriteTraceId === undefined) return;
    const owners = index.named([result.objectWriteTraceId], []);
    if (owners.size > 0) used.add(r);
    for (const i of owners) if (isSucceeded(i)) ids[i] = result.id;
  });
  for (const i of succeeded) {
    const input = inputs[i];
    if (!input || ids[i] !== undefined) continue;
    if (input.idProperty !== undefined && input.idProperty !== OWN_ID_PROPERTY) continue;
    const r = results.findIndex((result, k) => !used.has(k) && result.id === input.id);
    if (r < 0) continue;
    used.add(r);
    ids[i] = results[r]?.id;
  }
  const openInputs = succeeded.filter((i) => ids[i] === undefined);
  const openResults = results.filter((_, k) => !used.has(k));
  if (allowElimination && openInputs.length === 1 && openResults.length === 1)
    ids[openInputs[0] ?? -1] = openResults[0]?.id;
  return ids;
}

function failure(trace: string, error: BatchError, answer: HttpAnswer, retryable: boolean): InputResult {
  const verdictError: VerdictError = {
    category: error.category ?? 'UNKNOWN',
    message: clip(error.message ?? 'HubSpot reported an error for this input'),
    httpStatus: answer.status,
  };
  if (answer.correlationId) verdictError.correlationId = answer.correlationId;
  return { objectWriteTraceId: trace, ok: false, error: verdictError, retryable };
}

function httpError(
  status: number,
  raw: unknown,
  body: HubSpotErrorBody | undefined,
  headerCorrelationId: string | undefined,
): VerdictError {
  const category =
    body?.category ??
    body?.errorType ??
    DEFAULT_CATEGORY[status] ??
    (status >= 500 ? 'SERVER_ERROR' : `HTTP_${status}`);
  const message = body?.message ?? `HTTP ${status} from HubSpot (${describeBody(raw)})`;
  const error: VerdictError = { category, message: clip(message), httpStatus: status };
  const correlationId = body?.correlationId ?? headerCorrelationId;
  if (correlationId) error.correlationId = correlationId;
  return error;
}

function describeBody(raw: unknown): string {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === ''))
    return 'empty body';
  if (typeof raw === 'string') return 'non-JSON body';
  return 'no error message';
}

function policyNameOf(body: HubSpotErrorBody | undefined): string {
  if (body?.policyName) return body.policyName;
  const message = body?.message ?? '';
  if (/daily/i.test(message)) return RateLimitPolicy.daily;
  if (/ten.?secondly/i.test(message)) return RateLimitPolicy.tenSecondlyRolling;
  if (/secondly/i.test(message)) return RateLimitPolicy.secondly;
  return RateLimitPolicy.unknown;
}

function poisonHint(inputs: BatchInput[], body: HubSpotErrorBody | undefined): PoisonHint {
  const sources = [body ?? {}, ...(body?.errors ?? [])];
  const index = new InputIndex(inputs);
  const implicated = new Set<number>();
  const ids = new Set<string>();
  const duplicateIds = new Set<string>();
  const problems = new Map<string, PropertyProblem>();
  let nonUniqueIdProperty: string | undefined;
  let batchTooLarge = false;
  const addProblem = (p: PropertyProblem) => {
    const known = problems.get(p.name);
    if (!known) problems.set(p.name, { ...p });
    else {
      known.code ??= p.code;
      known.value ??= p.value;
    }
  };
  for (const source of sources) {
    const { message, context } = source;
    const code = 'code' in source && typeof source.code === 'string' ? source.code : undefined;
    const namedIds = contextStrings(context, 'ids');
    for (const id of namedIds) ids.add(id);
    const duplicates = parseDuplicateIds(message);
    if (duplicates) for (const id of [...duplicates, ...namedIds]) duplicateIds.add(id);
    for (const i of index.named(contextStrings(context, 'objectWriteTraceId'), duplicates ? [] : namedIds)) {
      implicated.add(i);
    }
    for (const p of parseInvalidPropertiesMessage(message)) addProblem(p);
    for (const name of contextStrings(context, 'propertyName')) {
      const p: PropertyProblem = { name, message: message ?? `Property "${name}" was not valid` };
      if (code) p.code = code;
      const value = offendingValue(message);
      if (value !== undefined) p.value = value;
      addProblem(p);
    }
    nonUniqueIdProperty ??= parseNonUniqueIdProperty(message);
    batchTooLarge ||= isBatchTooLargeMessage(message);
  }
  for (const id of duplicateIds) ids.add(id);
  if (duplicateIds.size === 0 && sources.some((s) => parseDuplicateIds(s.message))) {
    for (const id of duplicatesAmong(inputs)) duplicateIds.add(id);
  }
  for (const p of problems.values()) for (const i of holders(inputs, p)) implicated.add(i);
  inputs.forEach((input, i) => {
    if (nonUniqueIdProperty !== undefined && input.idProperty === nonUniqueIdProperty) implicated.add(i);
  });
  const hint: PoisonHint = {
    traceIds: inputs.filter((_, i) => implicated.has(i)).map((input) => input.objectWriteTraceId),
    ids: [...ids],
    properties: [...problems.values()],
    duplicateIds: [...duplicateIds],
    batchTooLarge,
  };
  if (nonUniqueIdProperty !== undefined) hint.nonUniqueIdProperty = nonUniqueIdProperty;
  return hint;
}

/** Inputs setting the offending property: those with the quoted value if any has it, else all that set it. */
function holders(inputs: BatchInput[], problem: PropertyProblem): number[] {
  const setting = inputs.flatMap((input, i) => (Object.hasOwn(input.properties, problem.name) ? [i] : []));
  if (problem.value === undefined) return setting;
  const exact = setting.filter((i) => inputs[i]?.properties[problem.name] === problem.value);
  return exact.length > 0 ? exact : setting;
}

function duplicatesAmong(inputs: BatchInput[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const input of inputs) (seen.has(input.id) ? dup : seen).add(input.id);
  return [...dup];
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : text;
}
