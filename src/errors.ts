/**
 * Named errors with a stable `code`, so callers branch on the code rather than on message text or class identity
 * (which breaks when two copies of the package are loaded). Messages never carry a token.
 */

/** The stable codes of the project's named errors. */
export const ErrorCode = {
  configInvalid: 'CONFIG_INVALID',
  tokenUnavailable: 'TOKEN_UNAVAILABLE',
  unexpectedResponse: 'UNEXPECTED_RESPONSE',
  leaseLost: 'LEASE_LOST',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Invalid configuration (environment variables, options), naming each problem; not retryable. */
export class ConfigError extends Error {
  readonly code = ErrorCode.configInvalid;
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The token provider failed. Only the cause's name and code are kept: a provider's own error (an OAuth refresh
 * call, say) may embed request config holding secrets.
 */
export class TokenProviderError extends Error {
  readonly code = ErrorCode.tokenUnavailable;
  constructor(
    readonly account: string,
    cause: unknown,
  ) {
    super(`token provider failed for account "${account}"${describeCause(cause)}`);
    this.name = 'TokenProviderError';
  }
}

/** HubSpot answered 2xx with a body we cannot use (e.g. a property list without `results`). */
export class UnexpectedResponseError extends Error {
  readonly code = ErrorCode.unexpectedResponse;
  constructor(message: string) {
    super(message);
    this.name = 'UnexpectedResponseError';
  }
}

/** The worker lost the lease of a batch (it expired or another worker reclaimed it). */
export class LeaseLostError extends Error {
  readonly code = ErrorCode.leaseLost;
  constructor(readonly batchId: string) {
    super(`lease lost for batch ${batchId}`);
    this.name = 'LeaseLostError';
  }
}

/** True when `error` carries one of our codes, whichever copy of this module created it. */
export function hasErrorCode(error: unknown, code: ErrorCode): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function describeCause(cause: unknown): string {
  if (typeof cause !== 'object' || cause === null) return '';
  const { name, code } = cause as { name?: unknown; code?: unknown };
  const parts = [typeof name === 'string' ? name : undefined, typeof code === 'string' ? code : undefined];
  const text = parts.filter((p): p is string => p !== undefined && /^[\w.-]{1,64}$/.test(p)).join(' ');
  return text ? ` (${text})` : '';
}
