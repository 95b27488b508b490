/**
 * What each configuration variable means, as data: the README's configuration table is rendered from it and the
 * schema's defaults (`configMarkdown`), and a test fails when the README drifts from it.
 */
import { ConfigSchema, type ConfigVariable } from './config.js';

/** What the README's Configuration table says of one variable; its default comes from the schema. */
export interface ConfigDoc {
  /** Markdown: what the variable controls. */
  readonly meaning: string;
  /** Markdown for the default column of a variable without a schema default that is computed elsewhere. */
  readonly defaultText?: string;
}

/**
 * The documentation of every variable, which `configMarkdown` renders into the README (a test compares the two).
 * Its type makes it name exactly the schema's variables.
 */
export const CONFIG_DOCS: { readonly [V in ConfigVariable]: ConfigDoc } = {
  REDIS_URL: {
    meaning: 'Redis to use. `redis+cluster://host:port` names a seed node of a Redis Cluster.',
  },
  QUEUE_NAME: {
    meaning: 'BullMQ queue name; every key lives under `hbq:{QUEUE_NAME}`, so queues never interfere.',
  },
  QUEUE_SHARDS: {
    meaning:
      'Shards of the queue, each with its own hash tag (shard 0 keeps `{QUEUE_NAME}`), so a Redis Cluster spreads ' +
      "the queue over its masters; an account's updates all go to one shard. Every producer, worker and admin " +
      'command of a queue must use the same value: see [More than one Redis](#more-than-one-redis).',
  },
  HUBSPOT_ACCESS_TOKEN: { meaning: 'Token of the account `default`.' },
  HUBSPOT_ACCOUNTS: {
    meaning:
      'JSON: `{"account": "token"}` or `{"account": {"token": "...", "maxRequests": 190, "windowMs": 10000, ' +
      '"dailyLimit": 625000, "dailyReserve": 10000, "dailyResetUtcOffsetMinutes": -300}}`. ' +
      "An update's `account` picks one.",
  },
  HUBSPOT_BASE_URL: { meaning: 'HubSpot API base (the simulator in tests and the demo).' },
  HUBSPOT_API_VERSION: {
    meaning:
      "The date version in HubSpot's paths (`/crm/objects/2026-03/...`); HubSpot ships one each March and " +
      'September and supports each for 18 months. `v3` selects the older `/crm/v3/...` paths.',
  },
  RATE_LIMIT_MAX: {
    meaning:
      "Calls per window and account (HubSpot's lowest private-app tier), shared by all replicas; " +
      "an account's `maxRequests` overrides it.",
  },
  RATE_LIMIT_WINDOW_MS: {
    meaning: "The rate-limit window `RATE_LIMIT_MAX` applies to; an account's `windowMs` overrides it.",
  },
  RATE_LIMIT_MARGIN_MS: {
    meaning: 'Added to the window to absorb latency jitter between taking budget and arriving at HubSpot.',
    defaultText: '1% of window + 10 ms',
  },
  DAILY_LIMIT: {
    meaning:
      'Calls per day and account; unset, the day is bounded only by what HubSpot reports (Daily-Remaining, ' +
      'a DAILY 429). ' +
      "An account's `dailyLimit` overrides it.",
  },
  DAILY_RESERVE: {
    meaning:
      "Calls of the day kept back for other clients of the account; an account's `dailyReserve` overrides it.",
  },
  DAILY_RESET_UTC_OFFSET_MINUTES: {
    meaning:
      "The accounts' time zone as minutes east of UTC (-720..840, e.g. `-300` for UTC-05:00): HubSpot resets " +
      "daily limits at midnight in the account's time zone. An account's `dailyResetUtcOffsetMinutes` in " +
      '`HUBSPOT_ACCOUNTS` overrides it. Daylight saving is not followed: keep a `DAILY_RESERVE` for the hour.',
  },
  BATCH_LINGER_MS: {
    meaning:
      'Longest a lone bulk update waits for its batch to fill; interactive updates do not wait (see [Priority lanes](#priority-lanes)).',
  },
  BATCH_MAX_SIZE: { meaning: "Inputs per call, at most 100 (HubSpot's limit)." },
  WORKER_CONCURRENCY: {
    meaning:
      'Ceiling of batches in flight per worker (memory: each holds up to 100 objects and 1,000 updates). ' +
      "Below it, each account keeps what its budget needs: its rate times its calls' average latency, twice " +
      "over, plus two (Little's law: a 250-per-10-s account answering in 2 s keeps about 100; one answering in " +
      '30 ms, four).',
  },
  WORKER_ACCOUNT_RESERVE: {
    meaning:
      'Slots of `WORKER_CONCURRENCY` one account never takes while several accounts are configured (at most ' +
      "half of the ceiling): however slow one account's calls, another account's work finds a slot at once.",
  },
  LEASE_MS: {
    meaning:
      'Lease of a claimed batch, renewed by a heartbeat every sixth of it while the batch runs (a 30-s call ' +
      "keeps its lease); a dead or frozen worker's batches are taken over once it expires.",
  },
  AMBIGUOUS_HOLD_MS: {
    meaning:
      'After a call that may still apply (a timeout, a reset, a 5xx, a lost lease), its objects take only ' +
      're-sends of the same updates for this long, so a late apply cannot overwrite a newer value (see ' +
      '[Ordering and fencing](#ordering-and-fencing)).',
  },
  LIVENESS_TIMEOUT_MS: {
    meaning:
      'How long the worker may go without one good pass of its loop (Redis unreachable) before it reports ' +
      'not-live on `/healthz` and exits 1; also how long it waits for Redis at start.',
  },
  MAX_ATTEMPTS: {
    meaning: 'Attempts before an update fails (only answers that spend an attempt count, see below).',
  },
  BACKOFF_BASE_MS: {
    meaning:
      'First step of the exponential backoff, doubled at each spent attempt; equal jitter (half fixed, half random).',
  },
  BACKOFF_MAX_MS: { meaning: 'Cap of the backoff step (a `Retry-After` is honoured even above it).' },
  AUTH_PAUSE_MS: {
    meaning: 'How long an account pauses after a 401/403 before credentials are tried again.',
  },
  HTTP_TIMEOUT_MS: { meaning: 'Deadline of one HubSpot call.' },
  SHUTDOWN_TIMEOUT_MS: {
    meaning: 'Bound of a shutdown on SIGTERM: in-flight batches finish within it, the rest are handed back.',
  },
  OUTCOME_TTL_SECONDS: { meaning: 'How long outcomes (and failed updates, for replay) are kept.' },
  OUTCOME_STREAM_RETENTION_SECONDS: {
    meaning:
      'How long the stream of terminal outcomes keeps an entry (`subscribeOutcomes`, `outcomes --follow`); a ' +
      'consumer group further behind misses what was trimmed, though every outcome stays readable by trace id.',
  },
  ADDRESS_TTL_SECONDS: {
    meaning:
      "How long the record id a unique property's value names (an email, say) is kept once looked up with " +
      'batch/read, or learnt from an update that set the value; an OBJECT_NOT_FOUND drops it sooner.',
  },
  UPDATE_MAX_VALUE_LENGTH: {
    meaning:
      "Longest property value in characters (HubSpot's limit for text properties); `enqueue` and the worker " +
      'refuse longer ones, naming the property.',
  },
  UPDATE_MAX_PROPERTIES: {
    meaning: 'Most properties one update may set; `enqueue` and the worker refuse more.',
  },
  VALIDATE_PROPERTIES: {
    meaning:
      "Check values against HubSpot's property schema (read once per object type) before sending, so poison " +
      'values fail without costing a 400. `true`/`1` or `false`/`0`.',
  },
  METRICS_PORT: {
    meaning: 'Port of `/metrics`, `/healthz`, `/readyz` (and the dashboard); `0` disables them.',
  },
  METRICS_HOST: { meaning: 'Interface the metrics port listens on.' },
  LOG_LEVEL: {
    meaning: 'pino level (`fatal` to `trace`, or `silent`); logs are JSON lines with tokens redacted.',
  },
  DASHBOARD_USER: {
    meaning:
      'With `DASHBOARD_PASSWORD`: a read-only web view is served on the metrics port under `/dashboard/` ' +
      'behind basic auth: Bull Board (it sees the BullMQ wait list; `status` shows every state) and an outcome ' +
      'lookup by trace id at `/dashboard/outcomes`. Serve it through TLS or a port-forward.',
  },
  DASHBOARD_PASSWORD: { meaning: 'Password of the dashboard; it is served only when both are set.' },
};

/** A default of at least a minute in a readable unit, e.g. ` (7 days)`, for `_MS` and `_SECONDS` variables. */
function durationNote(variable: ConfigVariable, value: unknown): string {
  if (typeof value !== 'number') return '';
  const ms = variable.endsWith('_SECONDS') ? value * 1000 : variable.endsWith('_MS') ? value : 0;
  const units = [
    [86_400_000, ' days'],
    [3_600_000, ' h'],
    [60_000, ' min'],
  ] as const;
  const unit = units.find(([unitMs]) => ms >= unitMs && ms % unitMs === 0);
  return unit ? ` (${ms / unit[0]}${ms === 86_400_000 ? ' day' : unit[1]})` : '';
}

/**
 * The README's Configuration table: one row per variable of {@link ConfigSchema}, in schema order, with the
 * default the schema gives an empty environment and the meaning from {@link CONFIG_DOCS}.
 */
export function configMarkdown(): string {
  const defaults: Record<string, unknown> = ConfigSchema.parse({});
  const rows = (Object.keys(ConfigSchema.shape) as ConfigVariable[]).map((variable) => {
    const doc = CONFIG_DOCS[variable];
    const value = defaults[variable];
    if (value !== undefined && doc.defaultText !== undefined) {
      throw new Error(`${variable} has a schema default; its defaultText would hide it`);
    }
    const shown =
      value === undefined ? (doc.defaultText ?? '–') : `\`${String(value)}\`${durationNote(variable, value)}`;
    return `| \`${variable}\` | ${shown} | ${doc.meaning.replaceAll('|', '\\|')} |`;
  });
  return `${['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n')}\n`;
}
