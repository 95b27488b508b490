/**
 * The attempt policy as data: for every reason a HubSpot call can end badly, whether the updates are tried
 * again, whether that costs one of their attempts, and how long to wait. The worker reads this table; the README
 * renders it with {@link attemptPolicyMarkdown}, so documentation and behaviour cannot drift apart.
 */

/** How the wait before the next try is computed. */
export const Backoff = {
  /** Exponential with equal jitter. */
  exponential: 'exponential',
  /** `Retry-After` when HubSpot sent one, else exponential. */
  retryAfterOrExponential: 'retryAfterOrExponential',
  /** Exponential, but never under 2 s (HubSpot's advice for 423). */
  atLeast2s: 'atLeast2s',
  /** `Retry-After`, else the rest of the rate-limit window. */
  rateWindow: 'rateWindow',
  /** No wait of its own. */
  none: 'none',
} as const;
export type Backoff = (typeof Backoff)[keyof typeof Backoff];

/** One row of {@link ATTEMPT_POLICY}. */
export interface AttemptRule {
  readonly retry: boolean;
  readonly spendsAttempt: boolean;
  /**
   * The call may have applied, or may still apply, although the answer does not say so (a timeout, a reset, a
   * 5xx). When the request left, its objects are held: only the same updates may be sent again until the hold
   * ends, so a late apply can never overwrite a newer value.
   */
  readonly ambiguous: boolean;
  readonly backoff: Backoff;
  readonly description: string;
}

/** Every outcome of a call that is not a plain success, and what to do about it. */
export const ATTEMPT_POLICY = {
  canceled: {
    retry: true,
    spendsAttempt: true,
    ambiguous: false,
    backoff: 'exponential',
    description: 'Batch status CANCELED: nothing is known to have applied; the whole batch is retried.',
  },
  incomplete: {
    retry: true,
    spendsAttempt: true,
    ambiguous: true,
    backoff: 'exponential',
    description: 'Batch status PENDING, PROCESSING or missing in a final answer: the whole batch is retried.',
  },
  unexpected_response: {
    retry: true,
    spendsAttempt: true,
    ambiguous: true,
    backoff: 'exponential',
    description:
      'A 1xx/3xx, or a 2xx whose body is not a usable batch response, or that neither confirms nor names any ' +
      'input (e.g. numErrors with no errors listed): the whole batch is retried.',
  },
  server_error: {
    retry: true,
    spendsAttempt: true,
    ambiguous: true,
    backoff: 'retryAfterOrExponential',
    description:
      'HTTP 5xx (JSON or gateway HTML). The write may already have applied; retrying is idempotent.',
  },
  timeout: {
    retry: true,
    spendsAttempt: true,
    ambiguous: true,
    backoff: 'exponential',
    description: 'Client deadline or HTTP 408. The write may already have applied.',
  },
  connection_reset: {
    retry: true,
    spendsAttempt: true,
    ambiguous: true,
    backoff: 'exponential',
    description: 'Connection reset or socket hang up. The write may already have applied.',
  },
  connection_refused: {
    retry: true,
    spendsAttempt: false,
    ambiguous: false,
    backoff: 'exponential',
    description: 'Connection refused: the request never reached HubSpot, so no attempt is spent.',
  },
  network: {
    retry: true,
    spendsAttempt: true,
    ambiguous: true,
    backoff: 'exponential',
    description: 'Other network failure (DNS, TLS, truncated body).',
  },
  aborted: {
    retry: true,
    spendsAttempt: false,
    ambiguous: true,
    backoff: 'none',
    description: 'We aborted the call (lease lost, shutdown); whoever holds the batch next sends it again.',
  },
  locked_423: {
    retry: true,
    spendsAttempt: true,
    ambiguous: false,
    backoff: 'atLeast2s',
    description: 'HTTP 423 Locked during a high-volume sync: retried after at least 2 s.',
  },
  migration_477: {
    retry: true,
    spendsAttempt: false,
    ambiguous: false,
    backoff: 'retryAfterOrExponential',
    description:
      'HTTP 477 Migration in Progress: retried after Retry-After (may be hours); costs no attempt.',
  },
  rate_limited_429: {
    retry: true,
    spendsAttempt: false,
    ambiguous: false,
    backoff: 'rateWindow',
    description: 'HTTP 429: retried after Retry-After or the rate-limit window (DAILY: until the reset).',
  },
  auth_401: {
    retry: true,
    spendsAttempt: false,
    ambiguous: false,
    backoff: 'none',
    description:
      'HTTP 401: the account is paused until its credentials work; updates wait, attempts are kept.',
  },
  forbidden_403: {
    retry: true,
    spendsAttempt: false,
    ambiguous: false,
    backoff: 'none',
    description: 'HTTP 403 (e.g. MISSING_SCOPES): the account is paused like a 401.',
  },
  object_not_found: {
    retry: false,
    spendsAttempt: true,
    ambiguous: false,
    backoff: 'none',
    description: 'A 207 error OBJECT_NOT_FOUND names the input: it fails; the other inputs are settled.',
  },
  input_error: {
    retry: true,
    spendsAttempt: true,
    ambiguous: false,
    backoff: 'exponential',
    description: 'A 207 error of a retryable category (rate limit, internal, unknown) names the input.',
  },
  unaccounted: {
    retry: true,
    spendsAttempt: true,
    ambiguous: true,
    backoff: 'exponential',
    description:
      'A 200/207 that neither names the input in an error nor confirms it by a result (or by elimination, when ' +
      'every error is pinned, numErrors matches the errors listed and results match the inputs no error ' +
      'names): retried, since the call may have applied it.',
  },
  input_rejected: {
    retry: false,
    spendsAttempt: true,
    ambiguous: false,
    backoff: 'none',
    description:
      'A 207 error of a final category (VALIDATION_ERROR, CONFLICT, ...) names the input: it fails. When its ' +
      'errors only refuse properties the input writes, they are split like a 400: the updates that wrote those ' +
      'fail, the others are sent again without them.',
  },
  validation_400: {
    retry: false,
    spendsAttempt: true,
    ambiguous: false,
    backoff: 'none',
    description:
      'HTTP 400: never resent as is. Inputs the error pins down (named by trace id or id, holding the quoted ' +
      'value, alone in setting the property, setting a property that does not exist or is read-only, or using ' +
      'a non-unique idProperty) fail; the rest are resent without them. When it pins none, the inputs setting ' +
      'the named properties (else all) are bisected in the same batch run, spending no attempt, until each bad ' +
      'input fails alone; a batch over the size limit is halved.',
  },
  payload_too_large: {
    retry: false,
    spendsAttempt: true,
    ambiguous: false,
    backoff: 'none',
    description:
      'HTTP 413: nothing applied; the inputs are split in halves and sent again in the same batch run, ' +
      'without spending attempts. A lone input that is still too large fails (PAYLOAD_TOO_LARGE or ' +
      "HubSpot's category).",
  },
  other_4xx: {
    retry: false,
    spendsAttempt: true,
    ambiguous: false,
    backoff: 'none',
    description: 'Other final 4xx (404 unknown object type, 409, 415, ...): every input fails.',
  },
  newer_unconfirmed: {
    retry: true,
    spendsAttempt: true,
    ambiguous: false,
    backoff: 'exponential',
    description:
      'Not sent: a newer value of a property it writes went out in a call whose outcome is unknown, so it may ' +
      'not be written over it, nor be called superseded by a value that may never land. It waits (no call is ' +
      'made), and is superseded once that value lands, or sent again if it fails.',
  },
  lease_expired: {
    retry: true,
    spendsAttempt: true,
    ambiguous: true,
    backoff: 'exponential',
    description: 'A worker died mid-batch and its lease expired; the call may have gone out, so it counts.',
  },
} as const satisfies Record<string, AttemptRule>;

/** Every reason the policy table knows. */
export type AttemptReason = keyof typeof ATTEMPT_POLICY;

/** The reasons `classifyBatchAnswer` gives for retrying a whole batch. */
export const RETRY_REASONS = [
  'canceled',
  'incomplete',
  'unexpected_response',
  'server_error',
  'timeout',
  'connection_reset',
  'connection_refused',
  'network',
  'aborted',
  'locked_423',
  'migration_477',
] as const satisfies readonly AttemptReason[];
export type RetryReason = (typeof RETRY_REASONS)[number];

/** Attempts an update gets before it fails, counting only rows with `spendsAttempt`. */
export const DEFAULT_MAX_ATTEMPTS = 10;
/** The policy table as Markdown, for the README. */
export function attemptPolicyMarkdown(): string {
  const yesNo = (b: boolean) => (b ? 'yes' : 'no');
  const lines = [
    '| reason | retry | spends an attempt | ambiguous | backoff | description |',
    '| --- | --- | --- | --- | --- | --- |',
    ...(Object.entries(ATTEMPT_POLICY) as Array<[AttemptReason, AttemptRule]>).map(
      ([reason, rule]) =>
        `| \`${reason}\` | ${yesNo(rule.retry)} | ${yesNo(rule.spendsAttempt)} | ${yesNo(rule.ambiguous)} | ` +
        `\`${rule.backoff}\` | ` +
        `${rule.description.replaceAll('|', '\\|')} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
