import { attributeBatchAnswer, clip } from './attribution.js';
import { poisonHint } from './poison.js';
import type { RetryReason } from './policy.js';
import type { BatchInput, HubSpotAnswer, TransportErrorCode } from './port.js';
import { BatchStatus, type HubSpotErrorBody, parseBatchResponse, parseErrorBody } from './responses.js';
import { type BatchVerdict, RateLimitPolicy, type VerdictError } from './verdict.js';

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
