import type { OutcomeError } from '../outcomes/outcome.js';
import { attributeBatchAnswer, clip, InputIndex } from './attribution.js';
import type { RetryReason } from './policy.js';
import type { BatchInput, HubSpotAnswer, TransportErrorCode } from './port.js';
import {
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

export { INPUT_CATEGORY_RETRYABLE, isRetryableInputCategory } from './attribution.js';

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
  413: 'PAYLOAD_TOO_LARGE',
  423: 'LOCKED',
  429: 'RATE_LIMIT',
  477: 'MIGRATION_IN_PROGRESS',
};

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
  if (status === 413) return { kind: 'tooLarge', reason: 'payload_too_large', error };
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
  const results = attributeBatchAnswer(inputs, parsed, {
    status: answer.status,
    ...(answer.correlationId ? { correlationId: answer.correlationId } : {}),
  });
  if (!results) {
    const listed = parsed.errors?.length ?? 0;
    const detail =
      (parsed.numErrors ?? 0) > listed
        ? `HubSpot reported ${parsed.numErrors} errors but listed ${listed}`
        : `HubSpot answered HTTP ${answer.status}`;
    return unexpected(`${detail}, and the answer confirms none of the ${inputs.length} inputs`);
  }
  return { kind: 'settled', httpStatus: answer.status, results };
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
  const problems: PropertyProblem[] = [];
  let nonUniqueIdProperty: string | undefined;
  let batchTooLarge = false;
  // The message's list and `errors[]` usually report the same problem twice; two values of one property are
  // two problems.
  const addProblem = (p: PropertyProblem) => {
    const same = problems.filter((q) => q.name === p.name);
    const known =
      same.find((q) => q.value === p.value) ??
      (p.value === undefined ? same[0] : same.find((q) => q.value === undefined));
    if (!known) {
      problems.push({ ...p });
      return;
    }
    known.code ??= p.code;
    known.value ??= p.value;
    known.rawValue ??= p.rawValue;
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
      Object.assign(p, offendingValue(message));
      addProblem(p);
    }
    nonUniqueIdProperty ??= parseNonUniqueIdProperty(message);
    batchTooLarge ||= isBatchTooLargeMessage(message);
  }
  for (const id of duplicateIds) ids.add(id);
  if (duplicateIds.size === 0 && sources.some((s) => parseDuplicateIds(s.message))) {
    for (const id of duplicatesAmong(inputs)) duplicateIds.add(id);
  }
  const bad = new Map<number, PropertyProblem[]>();
  const suspects = new Set<number>();
  for (const p of problems) {
    const pinned = pinProblem(inputs, p);
    for (const i of pinned.certain) {
      implicated.add(i);
      bad.set(i, [...(bad.get(i) ?? []), p]);
    }
    for (const i of pinned.suspects) suspects.add(i);
  }
  inputs.forEach((input, i) => {
    if (nonUniqueIdProperty !== undefined && input.idProperty === nonUniqueIdProperty) implicated.add(i);
  });
  const traceOf = (i: number) => (inputs[i] as BatchInput).objectWriteTraceId;
  const hint: PoisonHint = {
    traceIds: inputs.flatMap((input, i) => (implicated.has(i) ? [input.objectWriteTraceId] : [])),
    badProperties: Object.fromEntries([...bad].map(([i, list]) => [traceOf(i), list])),
    suspects: inputs.flatMap((input, i) =>
      suspects.has(i) && !implicated.has(i) ? [input.objectWriteTraceId] : [],
    ),
    ids: [...ids],
    properties: problems,
    duplicateIds: [...duplicateIds],
    batchTooLarge,
  };
  if (nonUniqueIdProperty !== undefined) hint.nonUniqueIdProperty = nonUniqueIdProperty;
  return hint;
}

/** Problems that make every write of the property fail, whatever its value. */
const UNWRITABLE_CODES: ReadonlySet<string> = new Set(['PROPERTY_DOESNT_EXIST', 'READ_ONLY_VALUE']);

/**
 * Which inputs one property problem singles out. Certain: every setter of a property that cannot be written,
 * the setters holding the quoted value (as HubSpot escaped it, or unescaped), or the lone setter. Otherwise the
 * setters are only suspects: failing them all would fail valid updates on a guess.
 */
export function pinProblem(
  inputs: readonly BatchInput[],
  problem: PropertyProblem,
): { certain: number[]; suspects: number[] } {
  const setting = inputs.flatMap((input, i) => (Object.hasOwn(input.properties, problem.name) ? [i] : []));
  if (problem.code !== undefined && UNWRITABLE_CODES.has(problem.code))
    return { certain: setting, suspects: [] };
  if (problem.value !== undefined) {
    const exact = setting.filter((i) => holdsValue(inputs[i] as BatchInput, problem));
    if (exact.length > 0) return { certain: exact, suspects: [] };
  }
  return setting.length === 1 ? { certain: setting, suspects: [] } : { certain: [], suspects: setting };
}

function holdsValue(input: BatchInput, problem: PropertyProblem): boolean {
  const sent = input.properties[problem.name];
  return sent !== undefined && (sent === problem.value || sent === problem.rawValue);
}

function duplicatesAmong(inputs: BatchInput[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const input of inputs) (seen.has(input.id) ? dup : seen).add(input.id);
  return [...dup];
}
