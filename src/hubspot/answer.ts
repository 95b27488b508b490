import type { AxiosResponse } from 'axios';
import { type HeaderBag, headerValue, parseRateLimitHeaders, parseRetryAfterMs } from './headers.js';
import { type HubSpotAnswer, TransportErrorCode } from './port.js';

/**
 * What came back from one call, as a {@link HubSpotAnswer}: an HTTP response of any status with its body and
 * headers read, or a failed request mapped to one of our transport codes. Neither ever carries the token.
 */

const REDACTED = '[REDACTED]';
const MIN_REDACTED_TOKEN_LENGTH = 12;

/** The answer of a response of any status; `token` is the one the call was sent with, redacted from the body. */
export function toAnswer(
  response: AxiosResponse<unknown>,
  token: string,
  latencyMs: number,
): Extract<HubSpotAnswer, { kind: 'http' }> {
  const headers: HeaderBag = { ...response.headers };
  const answer: Extract<HubSpotAnswer, { kind: 'http' }> = {
    kind: 'http',
    status: response.status,
    body: parseBody(response.data, token),
    rateLimit: parseRateLimitHeaders(headers),
    latencyMs,
  };
  const retryAfterMs = parseRetryAfterMs(headerValue(headers, 'retry-after'), Date.now());
  if (retryAfterMs !== undefined) answer.retryAfterMs = retryAfterMs;
  const correlationId = headerValue(headers, 'x-hubspot-correlation-id');
  if (correlationId) answer.correlationId = correlationId;
  return answer;
}

/** JSON when it parses, else the raw text (gateway HTML); an echoed token is redacted first. */
function parseBody(data: unknown, token: string): unknown {
  let text = typeof data === 'string' ? data : data instanceof Buffer ? data.toString('utf8') : '';
  // Real tokens are long; a short one (tests, local tools) would match ordinary text and corrupt the body.
  if (token.length >= MIN_REDACTED_TOKEN_LENGTH && text.includes(token))
    text = text.replaceAll(token, REDACTED);
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * Our code for a failed request, and the low-level error code as a detail. Never the error's message: axios
 * errors carry the request config, headers included, and some messages quote it.
 */
export function transportFailure(error: unknown): { code: TransportErrorCode; detail?: string } {
  const codes = errorCodes(error);
  const message = error instanceof Error ? error.message : '';
  const detail = codes.find((c) => /^[A-Z][A-Z0-9_]{1,40}$/.test(c));
  const code = codes.some((c) => TIMEOUT_CODES.has(c))
    ? TransportErrorCode.timeout
    : codes.includes('ECONNREFUSED')
      ? TransportErrorCode.refused
      : codes.some((c) => RESET_CODES.has(c)) || /socket hang up|stream has been aborted/i.test(message)
        ? TransportErrorCode.reset
        : TransportErrorCode.network;
  return detail ? { code, detail } : { code };
}

/** `code` of the error and of its causes, outermost first. */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') codes.push(code);
    current = cause;
  }
  return codes;
}
