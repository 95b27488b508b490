import { z } from 'zod';
import { ConfigError } from './errors.js';
import { MAX_QUEUE_SHARDS } from './shards.js';
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
  QUEUE_SHARDS: int(1).max(MAX_QUEUE_SHARDS).default(1),
  HUBSPOT_ACCESS_TOKEN: z.string().min(1).optional(),
  HUBSPOT_ACCOUNTS: accountsJson.optional(),
  HUBSPOT_BASE_URL: z.string().url('must be an http(s) URL').default(D.hubspotBaseUrl),
  HUBSPOT_API_VERSION: z
    .string()
    .regex(/^(\d{4}-(0[1-9]|1[0-2])|v3)$/, 'must be a date version such as 2026-09 (YYYY-MM), or v3')
    .default(D.hubspotApiVersion),
  RATE_LIMIT_MAX: int(1).default(D.maxRequests),
  RATE_LIMIT_WINDOW_MS: int(100).default(D.windowMs),
  RATE_LIMIT_MARGIN_MS: int(0).optional(),
  DAILY_LIMIT: int(1).optional(),
  DAILY_RESERVE: int(0).default(0),
  DAILY_RESET_UTC_OFFSET_MINUTES: z.coerce.number().pipe(utcOffsetMinutes).default(0),
  BATCH_LINGER_MS: int(0).default(D.batchLingerMs),
  BATCH_MAX_SIZE: int(1).max(100).default(D.batchMaxSize),
  WORKER_CONCURRENCY: int(1).default(D.concurrency),
  WORKER_ACCOUNT_RESERVE: int(0).default(D.accountReserve),
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
  OUTCOME_STREAM_RETENTION_SECONDS: int(60).default(D.outcomeStreamRetentionSeconds),
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
