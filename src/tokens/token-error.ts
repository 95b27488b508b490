/** Runs of token-like characters this long are treated as secrets in causes' messages. */
const SECRET_RUN = /[A-Za-z0-9._~+/=-]{20,}/g;

/**
 * Masks anything that looks like a token (a run of 20 or more token characters) in text taken from an error
 * we did not write, such as an OAuth endpoint's answer quoted by `fetchToken`.
 */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_RUN, '[redacted]');
}

/**
 * A token could not be obtained. The message names the account and the step; a cause's message is kept only
 * with token-like runs masked, and the cause itself is not attached, so neither logs nor callers see a token.
 */
export class TokenRefreshError extends Error {
  readonly code = 'TOKEN_REFRESH_FAILED' as const;
  constructor(
    readonly account: string,
    step: string,
    cause?: unknown,
  ) {
    super(`OAuth token of account "${account}" unavailable: ${step}${describe(cause)}`);
    this.name = 'TokenRefreshError';
  }
}

function describe(cause: unknown): string {
  if (cause === undefined) return '';
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    const codeText =
      typeof code === 'string' || typeof code === 'number' ? ` ${redactSecrets(String(code))}` : '';
    return ` (${cause.name}${codeText}: ${redactSecrets(cause.message).slice(0, 200)})`;
  }
  return ` (${typeof cause})`;
}
