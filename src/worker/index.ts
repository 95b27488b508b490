import { randomUUID } from 'node:crypto';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createHubSpotClient, type HubSpotClient } from '../hubspot/client.js';
import type { HubSpotPort, TokenProvider } from '../hubspot/port.js';
import { redactPaths } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics.js';
import type { AccountBudget } from '../ratelimit/budget.js';
import { dailyResetAnchorMs } from '../ratelimit/daily.js';
import { shardQueueNames } from '../shards.js';
import type { UpdateLimits } from '../update.js';
import { WORKER_DEFAULTS as D } from './defaults.js';
import { QueueGauges } from './gauges.js';
import type { Tunables } from './settings.js';
import { WorkerSlots } from './slots.js';
import { BatchWorker } from './worker.js';

/** One HubSpot account the worker may write to: its token (unless a token provider is given) and budget. */
export interface AccountOptions {
  token?: string;
  maxRequests?: number;
  windowMs?: number;
  dailyLimit?: number;
  dailyReserve?: number;
  /**
   * The account's time zone as minutes east of UTC (-720..840, default 0): its daily limit resets at local
   * midnight, measured on Redis's clock.
   */
  dailyResetUtcOffsetMinutes?: number;
}

export interface WorkerOptions {
  /** Default `redis://127.0.0.1:6379`. */
  redisUrl?: string;
  /** Default `hubspot-updates`. */
  queueName?: string;
  /**
   * The queue's shards (`QUEUE_SHARDS`, default 1), every producer and worker of a queue the same: the worker
   * serves them all, each with a loop and connections of its own; `concurrency` bounds their batches together.
   */
  shards?: number;
  /** Accounts by name; an update's `account` (default `default`) picks one. */
  accounts: Record<string, AccountOptions>;
  /** Supplies bearer tokens, e.g. refreshed OAuth access tokens; defaults to each account's `token`. */
  tokenProvider?: TokenProvider;
  /** Default `https://api.hubapi.com`. */
  hubspotBaseUrl?: string;
  /** The date version in HubSpot's paths, default `2026-03` (`v3` for the older paths). */
  hubspotApiVersion?: string;
  httpTimeoutMs?: number;
  /** Default per-account budget: 100 calls per 10 000 ms, HubSpot's lowest private-app tier. */
  rateLimit?: { maxRequests?: number; windowMs?: number; marginMs?: number };
  /** Longest a lone bulk update waits for its batch to fill (default 250 ms); interactive updates do not wait. */
  batchLingerMs?: number;
  batchMaxSize?: number;
  /**
   * Most batches in flight per worker (default 100); each account keeps as many as its
   * rate times its calls' latency needs, below this ceiling. Memory is bounded by it (each holds up to 100 objects and 1,000 updates).
   */
  concurrency?: number;
  /**
   * Slots of `concurrency` one account never takes while other accounts are configured (default 10, at most half
   * of it), so one account's slow calls cannot keep another account's work waiting for a slot.
   */
  accountReserve?: number;
  /**
   * Lease of a claimed batch, renewed by heartbeat while it runs; a dead worker's batches are taken back once it
   * expires (default 5 000 ms).
   */
  leaseMs?: number;
  /**
   * After a call that may still apply (timeout, reset, 5xx, a lost lease), its objects take only re-sends of the
   * same updates for this long, so a late apply cannot overwrite a newer value (default 60 000 ms).
   */
  ambiguousHoldMs?: number;
  /** Longest the loop may fail (Redis unreachable) before the worker gives up, see `onFatal` (default 60 000). */
  livenessTimeoutMs?: number;
  /** Called once when the worker gives up; the process should exit non-zero and be restarted. */
  onFatal?: (err: Error) => void;
  maxAttempts?: number;
  outcomeTtlSeconds?: number;
  /**
   * How long the record id a unique property's value (an email) names is kept once looked up or learnt
   * (default 86 400 s); an OBJECT_NOT_FOUND for it drops it sooner.
   */
  addressTtlSeconds?: number;
  /** How long the outcome stream keeps an entry (default 3 600 s). */
  outcomeStreamRetentionSeconds?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  authPauseMs?: number;
  shutdownTimeoutMs?: number;
  /** Check values against HubSpot's property schema before sending (default true). */
  validateProperties?: boolean;
  /**
   * Size limits updates are validated against (default: values of at most 65,536 characters, at most 1,000
   * properties); an update over them fails with a `VALIDATION_ERROR` naming the field.
   */
  limits?: Partial<UpdateLimits>;
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
  /** False once the worker stopped or gave up (its loop made no progress for `livenessTimeoutMs`). */
  readonly live: boolean;
  start(): Promise<void>;
  /**
   * Stops taking work, finishes or hands back in-flight batches, closes connections (and the HubSpot client the
   * worker created, not one passed as `hubspot`). Later calls return the first call's promise.
   */
  close(): Promise<void>;
}

/** Each tunable as the options give it, else its default. */
function withDefaults(options: WorkerOptions): Tunables {
  const given: Partial<Record<keyof Tunables, unknown>> = {
    ...options,
    maxRequests: options.rateLimit?.maxRequests,
    windowMs: options.rateLimit?.windowMs,
  };
  const out: Record<string, unknown> = {};
  for (const [name, fallback] of Object.entries(D)) out[name] = given[name as keyof Tunables] ?? fallback;
  return out as Tunables;
}

/** Creates a worker that drains the queue into HubSpot batch-update calls. */
export function createWorker(options: WorkerOptions): Worker {
  const logger = options.logger ?? pino({ level: 'info', redact: redactPaths });
  const tunables = withDefaults(options);
  const budgets = new Map<string, AccountBudget>();
  for (const [name, a] of Object.entries(options.accounts)) {
    const offset = a.dailyResetUtcOffsetMinutes ?? 0;
    if (!Number.isInteger(offset) || offset < -720 || offset > 840) {
      throw new RangeError(`accounts.${name}.dailyResetUtcOffsetMinutes must be an integer from -720 to 840`);
    }
    budgets.set(name, {
      maxRequests: a.maxRequests ?? tunables.maxRequests,
      windowMs: a.windowMs ?? tunables.windowMs,
      ...(a.dailyLimit !== undefined ? { dailyLimit: a.dailyLimit } : {}),
      ...(a.dailyReserve !== undefined ? { dailyReserve: a.dailyReserve } : {}),
      ...(offset !== 0 ? { dailyResetAt: dailyResetAnchorMs(offset) } : {}),
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
      baseUrl: tunables.hubspotBaseUrl,
      apiVersionPath: tunables.hubspotApiVersion,
      tokenProvider,
      timeoutMs: tunables.httpTimeoutMs,
      logger,
    });
    port = ownClient;
  }
  const metrics = options.metrics ?? (options.registry ? createMetrics(options.registry) : undefined);
  const names = shardQueueNames(tunables.queueName, options.shards ?? 1);
  const gauges = metrics ? new QueueGauges(metrics, names.length) : undefined;
  // Every shard's loop may give up; the caller hears it once.
  let gaveUp = false;
  const onFatal = options.onFatal;
  const fatalOnce = (err: Error) => {
    if (gaveUp) return;
    gaveUp = true;
    onFatal?.(err);
  };
  // One id in every shard: `status` counts a worker once however many shards it serves.
  // One loop per shard, each with its own connections, sharing the worker's `concurrency` slots; accounts live in
  // one shard, so an account's work is only ever in one loop.
  const workerId = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const slots = new WorkerSlots();
  const loops = names.map(
    (queueName, index) =>
      new BatchWorker({
        ...tunables,
        queueName,
        workerId,
        shard: { index, count: names.length },
        slots,
        budgetFor: (account) => budgets.get(account),
        port,
        ...(onFatal ? { onFatal: fatalOnce } : {}),
        configuredAccounts: Object.keys(options.accounts),
        ...(options.limits ? { limits: options.limits } : {}),
        ...(options.rateLimit?.marginMs !== undefined
          ? { rateLimitMarginMs: options.rateLimit.marginMs }
          : {}),
        logger,
        ...(metrics ? { metrics } : {}),
        ...(gauges ? { gauges } : {}),
      }),
  );
  const worker = loops[0] as BatchWorker;
  let closing: Promise<void> | undefined;
  return {
    get id() {
      return worker.id;
    },
    get ready() {
      return loops.every((l) => l.ready);
    },
    get live() {
      return loops.every((l) => l.live);
    },
    start: async () => {
      // Shard 0's loop first: it records or checks the queue's shard count, and no other loop may ingest (and
      // set aside jobs of accounts it thinks are elsewhere) under a count the queue does not have.
      const [first, ...rest] = loops;
      const started: PromiseSettledResult<void>[] = first
        ? await first.start().then(
            () => Promise.allSettled(rest.map((l) => l.start())),
            (err: unknown): PromiseSettledResult<void>[] => [{ status: 'rejected', reason: err }],
          )
        : [];
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!failed) return;
      // A worker is all its shards' loops or none: the ones that started stop again.
      await Promise.all(loops.map((l) => l.close()));
      throw failed.reason;
    },
    close: () => {
      // Once: a second shutdown of closed connections would only arm ioredis's 2 s disconnect timers.
      closing ??= (async () => {
        try {
          await Promise.all(loops.map((l) => l.close()));
        } finally {
          // After the worker settled its in-flight batches: their calls need the pooled sockets until then.
          ownClient?.close();
        }
      })();
      return closing;
    },
  };
}
