import { z } from 'zod';
import { ConfigError } from './errors.js';
import { DEFAULT_UPDATE_LIMITS, type UpdateLimits } from './update.js';
import { WORKER_DEFAULTS as D } from './worker/defaults.js';

const int = (min: number) => z.coerce.number().int().min(min);
/** Offsets of real time zones, minutes east of UTC: UTC-12:00 to UTC+14:00. */
const utcOffsetMinutes = z.number().int().min(-720).max(840);

/** Per-account settings in HUBSPOT_ACCOUNTS: a bare token, or a token with its own budget. */
export const AccountConfigSchema = z.union([
  z.string().min(1),
  z
    .object({
      token: z.string().min(1),
      maxRequests: z.number().int().min(1).optional(),
      windowMs: z.number().int().min(100).optional(),
      dailyLimit: z.number().int().min(1).optional(),
      dailyReserve: z.number().int().min(0).optional(),
      /** The account's time zone (minutes east of UTC): its daily limit resets at local midnight. */
      dailyResetUtcOffsetMinutes: utcOffsetMinutes.optional(),
    })
    .strict(),
]);

const accountsJson = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON like {"account": "token"}' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string().regex(/^[A-Za-z0-9_.@~+=/-]+$/, 'account names may not contain | or :'),
      AccountConfigSchema,
    ),
  );

/**
 * Every setting the process reads, from environment variables, with defaults. Read once in `bin.ts`;
 * nothing else reads `process.env`.
 */
export const ConfigSchema = z.object({
  REDIS_URL: z.string().url('must be a redis:// or rediss:// URL').default(D.redisUrl),
  QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"')
    .default(D.queueName),
  HUBSPOT_ACCESS_TOKEN: z.string().min(1).optional(),
  HUBSPOT_ACCOUNTS: accountsJson.optional(),
  HUBSPOT_BASE_URL: z.string().url('must be an http(s) URL').default(D.hubspotBaseUrl),
  RATE_LIMIT_MAX: int(1).default(D.maxRequests),
  RATE_LIMIT_WINDOW_MS: int(100).default(D.windowMs),
  RATE_LIMIT_MARGIN_MS: int(0).optional(),
  DAILY_LIMIT: int(1).optional(),
  DAILY_RESERVE: int(0).default(0),
  DAILY_RESET_UTC_OFFSET_MINUTES: z.coerce.number().pipe(utcOffsetMinutes).default(0),
  BATCH_LINGER_MS: int(0).default(D.batchLingerMs),
  BATCH_MAX_SIZE: int(1).max(100).default(D.batchMaxSize),
  WORKER_CONCURRENCY: int(1).default(D.concurrency),
  LEASE_MS: int(1000).default(D.leaseMs),
  AMBIGUOUS_HOLD_MS: int(0).default(D.ambiguousHoldMs),
  LIVENESS_TIMEOUT_MS: int(1000).default(D.livenessTimeoutMs),
  MAX_ATTEMPTS: int(1).default(D.maxAttempts),
  BACKOFF_BASE_MS: int(1).default(D.backoffBaseMs),
  BACKOFF_MAX_MS: int(1).default(D.backoffMaxMs),
  AUTH_PAUSE_MS: int(1000).default(D.authPauseMs),
  HTTP_TIMEOUT_MS: int(100).default(D.httpTimeoutMs),
  SHUTDOWN_TIMEOUT_MS: int(0).default(D.shutdownTimeoutMs),
  OUTCOME_TTL_SECONDS: int(60).default(D.outcomeTtlSeconds),
  ADDRESS_TTL_SECONDS: int(60).default(D.addressTtlSeconds),
  UPDATE_MAX_VALUE_LENGTH: int(1).default(DEFAULT_UPDATE_LIMITS.maxValueLength),
  UPDATE_MAX_PROPERTIES: int(1).default(DEFAULT_UPDATE_LIMITS.maxProperties),
  VALIDATE_PROPERTIES: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  METRICS_PORT: int(0).max(65535).default(9464),
  METRICS_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DASHBOARD_USER: z.string().min(1).optional(),
  DASHBOARD_PASSWORD: z.string().min(1).optional(),
});

export type Config = z.infer<typeof ConfigSchema>;

/** The name of one environment variable of {@link ConfigSchema}. */
export type ConfigVariable = keyof typeof ConfigSchema.shape;

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
  HUBSPOT_ACCESS_TOKEN: { meaning: 'Token of the account `default`.' },
  HUBSPOT_ACCOUNTS: {
    meaning:
      'JSON: `{"account": "token"}` or `{"account": {"token": "...", "maxRequests": 190, "windowMs": 10000, ' +
      '"dailyLimit": 625000, "dailyReserve": 10000, "dailyResetUtcOffsetMinutes": -300}}`. ' +
      "An update's `account` picks one.",
  },
  HUBSPOT_BASE_URL: { meaning: 'HubSpot API base (the simulator in tests and the demo).' },
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
  BATCH_LINGER_MS: { meaning: 'Longest a lone update waits for its batch to fill.' },
  BATCH_MAX_SIZE: { meaning: "Inputs per call, at most 100 (HubSpot's limit)." },
  WORKER_CONCURRENCY: {
    meaning:
      'Ceiling of batches in flight per worker (memory: each holds up to 100 objects and 1,000 updates). ' +
      "Below it, each account keeps what its budget needs: its rate times its calls' average latency, twice " +
      "over, plus two (Little's law: a 250-per-10-s account answering in 2 s keeps about 100; one answering in " +
      '30 ms, four).',
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

export { ConfigError };

/** Parses the environment; throws {@link ConfigError} naming every bad variable. Values are never echoed. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ConfigSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return parsed.data;
}

/** The budget and token of one account after defaults. */
export interface AccountSettings {
  token: string;
  maxRequests: number;
  windowMs: number;
  dailyLimit?: number;
  dailyReserve: number;
  /** Minutes east of UTC of the account's time zone, whose midnight resets its daily limit. */
  dailyResetUtcOffsetMinutes: number;
}

/** Resolves accounts: HUBSPOT_ACCOUNTS entries, plus `default` from HUBSPOT_ACCESS_TOKEN when set. */
export function accountsOf(config: Config): Map<string, AccountSettings> {
  const accounts = new Map<string, AccountSettings>();
  const base = {
    maxRequests: config.RATE_LIMIT_MAX,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    dailyReserve: config.DAILY_RESERVE,
    dailyResetUtcOffsetMinutes: config.DAILY_RESET_UTC_OFFSET_MINUTES,
    ...(config.DAILY_LIMIT ? { dailyLimit: config.DAILY_LIMIT } : {}),
  };
  if (config.HUBSPOT_ACCESS_TOKEN) accounts.set('default', { ...base, token: config.HUBSPOT_ACCESS_TOKEN });
  for (const [name, value] of Object.entries(config.HUBSPOT_ACCOUNTS ?? {})) {
    accounts.set(
      name,
      typeof value === 'string'
        ? { ...base, token: value }
        : // A field the account leaves out takes the default, not `undefined`.
          {
            ...base,
            ...Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)),
            token: value.token,
          },
    );
  }
  return accounts;
}

/** The size limits every update is validated against (by `enqueue` and by the worker). */
export function updateLimitsOf(config: Config): UpdateLimits {
  return { maxValueLength: config.UPDATE_MAX_VALUE_LENGTH, maxProperties: config.UPDATE_MAX_PROPERTIES };
}

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
