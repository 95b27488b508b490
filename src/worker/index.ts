import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createHubSpotClient, type HubSpotClient } from '../hubspot/client.js';
import { DEFAULT_MAX_ATTEMPTS } from '../hubspot/policy.js';
import type { HubSpotPort, TokenProvider } from '../hubspot/port.js';
import { redactPaths } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics.js';
import type { AccountBudget } from './send.js';
import { BatchWorker } from './worker.js';

/** One HubSpot account the worker may write to: its token (unless a token provider is given) and budget. */
export interface AccountOptions {
  token?: string;
  maxRequests?: number;
  windowMs?: number;
  dailyLimit?: number;
  dailyReserve?: number;
}

export interface WorkerOptions {
  /** Default `redis://127.0.0.1:6379`. */
  redisUrl?: string;
  /** Default `hubspot-updates`. */
  queueName?: string;
  /** Accounts by name; an update's `account` (default `default`) picks one. */
  accounts: Record<string, AccountOptions>;
  /** Supplies bearer tokens, e.g. refreshed OAuth access tokens; defaults to each account's `token`. */
  tokenProvider?: TokenProvider;
  /** Default `https://api.hubapi.com`. */
  hubspotBaseUrl?: string;
  httpTimeoutMs?: number;
  /** Default per-account budget: 100 calls per 10 000 ms, HubSpot's lowest private-app tier. */
  rateLimit?: { maxRequests?: number; windowMs?: number; marginMs?: number };
  /** Longest a lone update waits for its batch to fill (default 250 ms). */
  batchLingerMs?: number;
  batchMaxSize?: number;
  /** Batches in flight per worker (default 8). */
  concurrency?: number;
  leaseMs?: number;
  maxAttempts?: number;
  outcomeTtlSeconds?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  authPauseMs?: number;
  shutdownTimeoutMs?: number;
  /** Check values against HubSpot's property schema before sending (default true). */
  validateProperties?: boolean;
  logger?: Logger;
  /** Registry to register the worker's metrics on; omit for no metrics. */
  registry?: Registry;
  metrics?: Metrics;
  /** Replaces the HTTP client (the worker still sees only the port). */
  hubspot?: HubSpotPort;
}

export interface Worker {
  readonly id: string;
  /** True while the loop runs and Redis answers. */
  readonly ready: boolean;
  start(): Promise<void>;
  /**
   * Stops taking work, finishes or hands back in-flight batches, closes connections (and the HubSpot client the
   * worker created, not one passed as `hubspot`). Later calls return the first call's promise.
   */
  close(): Promise<void>;
}

/** Creates a worker that drains the queue into HubSpot batch-update calls. */
export function createWorker(options: WorkerOptions): Worker {
  const logger = options.logger ?? pino({ level: 'info', redact: redactPaths });
  const defaults = {
    maxRequests: options.rateLimit?.maxRequests ?? 100,
    windowMs: options.rateLimit?.windowMs ?? 10_000,
  };
  const budgets = new Map<string, AccountBudget>();
  for (const [name, a] of Object.entries(options.accounts)) {
    budgets.set(name, {
      maxRequests: a.maxRequests ?? defaults.maxRequests,
      windowMs: a.windowMs ?? defaults.windowMs,
      ...(a.dailyLimit !== undefined ? { dailyLimit: a.dailyLimit } : {}),
      ...(a.dailyReserve !== undefined ? { dailyReserve: a.dailyReserve } : {}),
    });
  }
  const tokenProvider: TokenProvider =
    options.tokenProvider ??
    (async (account) => {
      const token = options.accounts[account]?.token;
      if (!token) throw new Error(`no token configured for account "${account}"`);
      return token;
    });
  // A client the worker creates is the worker's to close; one the caller passes stays the caller's.
  let ownClient: HubSpotClient | undefined;
  let port: HubSpotPort;
  if (options.hubspot) port = options.hubspot;
  else {
    ownClient = createHubSpotClient({
      baseUrl: options.hubspotBaseUrl ?? 'https://api.hubapi.com',
      tokenProvider,
      timeoutMs: options.httpTimeoutMs ?? 30_000,
      logger,
    });
    port = ownClient;
  }
  const metrics = options.metrics ?? (options.registry ? createMetrics(options.registry) : undefined);
  const worker = new BatchWorker({
    redisUrl: options.redisUrl ?? 'redis://127.0.0.1:6379',
    queueName: options.queueName ?? 'hubspot-updates',
    budgetFor: (account) => budgets.get(account),
    port,
    lingerMs: options.batchLingerMs ?? 250,
    concurrency: options.concurrency ?? 8,
    maxBatchSize: options.batchMaxSize ?? 100,
    leaseMs: options.leaseMs ?? 60_000,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    outcomeTtlSeconds: options.outcomeTtlSeconds ?? 7 * 24 * 3600,
    backoffBaseMs: options.backoffBaseMs ?? 1000,
    backoffMaxMs: options.backoffMaxMs ?? 300_000,
    authPauseMs: options.authPauseMs ?? 60_000,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 30_000,
    validateProperties: options.validateProperties ?? true,
    ...(options.rateLimit?.marginMs !== undefined ? { rateLimitMarginMs: options.rateLimit.marginMs } : {}),
    logger,
    ...(metrics ? { metrics } : {}),
  });
  let closing: Promise<void> | undefined;
  return {
    get id() {
      return worker.id;
    },
    get ready() {
      return worker.ready;
    },
    start: () => worker.start(),
    close: () => {
      // Once: a second shutdown of closed connections would only arm ioredis's 2 s disconnect timers.
      closing ??= (async () => {
        try {
          await worker.close();
        } finally {
          // After the worker settled its in-flight batches: their calls need the pooled sockets until then.
          ownClient?.close();
        }
      })();
      return closing;
    },
  };
}
