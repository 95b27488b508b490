import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { pruneFailed } from '../admin/prune.js';
import type { HubSpotPort } from '../hubspot/port.js';
import { type QueueKeys, queueKeys } from '../keys.js';
import type { Metrics } from '../metrics.js';
import { RateLimiter } from '../ratelimit/limiter.js';
import { connectRedis } from '../redis.js';
import type { UpdateLimits } from '../update.js';
import { closeConnection, connectWithRetry, StartAbortedError, within } from './connections.js';
import { accountLimit, aheadTarget, CallDemand } from './demand.js';
import { failInvalidJobs } from './invalid.js';
import { MetricLabels } from './labels.js';
import { LeaseKeeper } from './leases.js';
import { refreshGauges } from './observe.js';
import { heldPauseBoundMs, schemaFetchGate } from './pauses.js';
import { type BatchContext, runBatch } from './run-batch.js';
import { SchemaCache } from './schema-cache.js';
import type { AccountBudget } from './send.js';
import { type ClaimedObject, QueueStore } from './store.js';

/** Tunables of the worker loop; `createWorker` fills defaults. */
export interface WorkerSettings {
  redisUrl: string;
  queueName: string;
  /** Budget of an account, or undefined when the account is not configured (its updates fail). */
  budgetFor: (account: string) => AccountBudget | undefined;
  port: HubSpotPort;
  lingerMs: number;
  concurrency: number;
  maxBatchSize: number;
  leaseMs: number;
  maxAttempts: number;
  outcomeTtlSeconds: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  authPauseMs: number;
  shutdownTimeoutMs: number;
  /** How long objects are held after a call that may still apply (a timeout, a reset, a 5xx, a lost lease). */
  ambiguousHoldMs: number;
  /** Deadline of one HubSpot call (the client's timeout). */
  httpTimeoutMs: number;
  /**
   * How long the loop may go without one good pass (Redis unreachable) before the worker gives up: it reports
   * not-live and calls `onFatal`. Also bounds how long `start()` waits for Redis.
   */
  livenessTimeoutMs: number;
  /** Called once when the worker gives up (see `livenessTimeoutMs`); the process should exit non-zero. */
  onFatal?: (err: Error) => void;
  validateProperties: boolean;
  rateLimitMarginMs?: number;
  logger: Logger;
  metrics?: Metrics;
  /** Accounts with credentials: the only `account` label values, and the accounts gauges are kept for. */
  configuredAccounts: readonly string[];
  /** Size limits updates are validated against. */
  limits?: Partial<UpdateLimits>;
  workerId?: string;
}

/**
 * Jobs moved per ingest call. Redis runs nothing else during a script: 1,000 jobs held it for up to 60 ms, and
 * every rate-limit grant and claim of every replica queued behind it; 200 keep a script near 10 ms.
 */
const INGEST_CHUNK = 200;
/**
 * Ingest calls per pass of the loop while nothing is ready to send: a pass moves up to 5,000 jobs before it
 * claims, so updates to one object that wait in the backlog are merged into one input rather than sent one call
 * after another. While batches are ready, a pass ingests a fifth of that and goes on to claim: a replica
 * ingesting a deep backlog would otherwise let the budget that frees up meanwhile go unused, and every wake of
 * the loop (each grant, each settle) ingests some more.
 */
const INGEST_ROUNDS = 25;
const INGEST_ROUNDS_WHILE_READY = 5;
const MAX_UPDATES_PER_OBJECT = 200;
/**
 * A batch is claimed before its grant when the budget is free or frees up within this long... Not longer: a
 * claimed object takes no more updates, so later updates to it would cost a call of their own.
 */
const AHEAD_MAX_WAIT_MS = 150;
const TICK_MS = 1000;
/** Heartbeats per lease: a stall of a few heartbeats (a long GC, a loaded host) does not lose a lease. */
const HEARTBEATS_PER_LEASE = 6;
/** Longest pause between loop passes after a failed one (Redis unreachable), so recovery is quick. */
const MAX_ERROR_BACKOFF_MS = 5000;
/** In-flight marks checked for a vanished batch, every this many ticks. */
const SWEEP_MARKS = 100;
const SWEEP_EVERY_TICKS = 10;
/** How long one wait on BullMQ's marker blocks (s). */
const MARKER_WAIT_S = 5;

/**
 * The worker loop: ingest → pick a group with a full (or lingered) batch → check the rate budget → claim → merge,
 * validate, send → settle. Batches run concurrently up to `concurrency`; each batch is one claim, at most a few
 * calls (retries of a 429 or poison isolation), and one settle.
 */
export class BatchWorker {
  readonly #s: WorkerSettings;
  readonly #keys: QueueKeys;
  readonly #redis: Redis;
  readonly #blocking: Redis;
  readonly #store: QueueStore;
  readonly #limiter: RateLimiter;
  readonly #batchContext: BatchContext;
  readonly #labels: MetricLabels;
  readonly #workerId: string;
  readonly #leases: LeaseKeeper;
  readonly #inflight: LeaseKeeper['batches'];
  readonly #blockedUntil = new Map<string, number>();
  /** Per account, batches of this replica claimed and still waiting for their grant. */
  readonly #ahead = new Map<string, number>();
  /** Latency of each account's calls, which sets how many of its batches this replica keeps in flight. */
  readonly #demand = new CallDemand();
  readonly #stop = new AbortController();
  #running = false;
  #loop?: Promise<void>;
  #listener?: Promise<void>;
  #wake: () => void = () => {};
  #rotation = 0;
  #ticks = 0;
  #nextTickAt = 0;
  #nextGaugesAt = 0;
  #ready = false;
  #hadReadyGroups = false;
  #closing?: Promise<void>;
  /** Aborted by close(): a start still connecting gives up. */
  readonly #starting = new AbortController();
  #lastProgressAt = performance.now();
  #watchdog?: NodeJS.Timeout;
  #fatal?: Error;

  constructor(settings: WorkerSettings) {
    this.#s = settings;
    this.#keys = queueKeys(settings.queueName);
    this.#workerId = settings.workerId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
    this.#labels = new MetricLabels(settings.configuredAccounts);
    this.#redis = connectRedis(settings.redisUrl, { lazyConnect: true });
    this.#blocking = connectRedis(settings.redisUrl, { lazyConnect: true });
    this.#redis.on('error', (err) => settings.logger.warn({ err: err.message }, 'redis connection error'));
    this.#blocking.on('error', () => {});
    this.#store = new QueueStore({
      redis: this.#redis,
      keys: this.#keys,
      outcomeTtlSeconds: settings.outcomeTtlSeconds,
    });
    this.#leases = new LeaseKeeper({
      redis: this.#redis,
      store: this.#store,
      keys: this.#keys,
      workerId: this.#workerId,
      leaseMs: settings.leaseMs,
      intervalMs: Math.max(50, Math.floor(settings.leaseMs / HEARTBEATS_PER_LEASE)),
      stallMs: Math.max(1000, Math.floor(settings.leaseMs / 3)),
      logger: settings.logger,
    });
    this.#inflight = this.#leases.batches;
    // After an outage, leases are renewed at once, before other replicas' housekeeping could take them back.
    this.#redis.on('ready', () => {
      if (this.#running) void this.#leases.beat();
    });
    this.#limiter = new RateLimiter({
      redis: this.#redis,
      keys: this.#keys,
      ...(settings.rateLimitMarginMs !== undefined ? { marginMs: settings.rateLimitMarginMs } : {}),
      onWait: (account, ms, reason) =>
        settings.metrics?.rateLimitWait.inc({ account: this.#labels.account(account), reason }, ms / 1000),
    });
    const schemas = new SchemaCache({
      port: settings.port,
      ttlMs: 10 * 60_000,
      logger: settings.logger,
      beforeFetch: schemaFetchGate(this.#limiter, settings.budgetFor, heldPauseBoundMs(settings.leaseMs)),
    });
    this.#batchContext = {
      port: settings.port,
      store: this.#store,
      limiter: this.#limiter,
      schemas,
      logger: settings.logger,
      ...(settings.metrics ? { metrics: settings.metrics } : {}),
      labels: this.#labels,
      demand: this.#demand,
      ...(settings.limits ? { limits: settings.limits } : {}),
      validateProperties: settings.validateProperties,
      leaseMs: settings.leaseMs,
      ambiguousHoldMs: settings.ambiguousHoldMs,
      httpTimeoutMs: settings.httpTimeoutMs,
      authPauseMs: settings.authPauseMs,
      maxAttempts: settings.maxAttempts,
      backoffBaseMs: settings.backoffBaseMs,
      backoffMaxMs: settings.backoffMaxMs,
    };
  }

  get id(): string {
    return this.#workerId;
  }

  /** True once the loop runs and Redis answered (readiness). */
  get ready(): boolean {
    return this.#ready && this.#running;
  }

  /**
   * Liveness: false once the loop stopped, or made no good pass for `livenessTimeoutMs` (the worker then gives
   * up, see `onFatal`).
   */
  get live(): boolean {
    return this.#running && this.#fatal === undefined;
  }

  /**
   * Connects (retrying with backoff for up to `livenessTimeoutMs`: Redis may be restarting or the network
   * flaky), then starts the loop, the heartbeat and the marker listener.
   * @throws RedisUnavailableError when Redis does not answer in time.
   */
  async start(): Promise<void> {
    if (this.#running || this.#closing) return;
    await Promise.all([
      connectWithRetry(this.#redis, this.#s.livenessTimeoutMs, this.#starting.signal),
      connectWithRetry(this.#blocking, this.#s.livenessTimeoutMs, this.#starting.signal),
    ]).catch((err: unknown) => {
      this.#redis.disconnect();
      this.#blocking.disconnect();
      throw err;
    });
    // Told to stop while connecting: take no work.
    if (this.#closing) throw new StartAbortedError();
    this.#running = true;
    this.#lastProgressAt = performance.now();
    this.#leases.start();
    this.#watchdog = setInterval(() => this.#checkProgress(), Math.min(1000, this.#s.livenessTimeoutMs));
    this.#loop = this.#runLoop();
    this.#listener = this.#listen();
    this.#s.logger.info({ workerId: this.#workerId, queue: this.#s.queueName }, 'worker started');
  }

  /**
   * Stops taking work, lets in-flight batches finish, then aborts the rest (their updates go back to the queue
   * without spending an attempt) and closes the connections. Returns within `shutdownTimeoutMs` whatever Redis
   * does: what cannot be handed back in time is taken back by another worker when its lease expires.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const deadline = performance.now() + this.#s.shutdownTimeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    clearInterval(this.#watchdog);
    this.#starting.abort();
    if (!this.#running) {
      this.#redis.disconnect();
      this.#blocking.disconnect();
      return;
    }
    this.#running = false;
    this.#wake();
    this.#blocking.disconnect();
    // Time kept back at the end to hand aborted batches back to the queue.
    const handBackMs = Math.min(2000, this.#s.shutdownTimeoutMs / 4);
    const loops = Promise.all([this.#loop, this.#listener]);
    const batches = Promise.allSettled([...this.#inflight.values()].map((b) => b.done));
    const timer = setTimeout(
      () => {
        for (const b of this.#inflight.values()) b.abort.abort();
      },
      Math.max(0, left() - handBackMs),
    );
    await within(left(), Promise.all([loops, batches]));
    clearTimeout(timer);
    for (const b of this.#inflight.values()) b.abort.abort();
    this.#leases.stop();
    this.#stop.abort();
    await within(left(), this.#redis.zrem(this.#keys.workers, this.#workerId));
    await closeConnection(this.#redis, Math.max(100, left()));
    this.#s.logger.info({ workerId: this.#workerId, abandoned: this.#inflight.size }, 'worker stopped');
  }

  #checkProgress(): void {
    if (!this.#running || this.#fatal) return;
    const idleMs = performance.now() - this.#lastProgressAt;
    if (idleMs < this.#s.livenessTimeoutMs) return;
    this.#fatal = new Error(
      `the worker loop made no progress for ${Math.round(idleMs)} ms (Redis unreachable?); giving up`,
    );
    this.#s.logger.error({ err: this.#fatal }, 'worker is not live');
    this.#s.onFatal?.(this.#fatal);
  }

  async #runLoop(): Promise<void> {
    let errorBackoffMs = 100;
    while (this.#running) {
      let sleepMs = TICK_MS;
      try {
        sleepMs = await this.#cycle();
        this.#ready = true;
        this.#lastProgressAt = performance.now();
        errorBackoffMs = 100;
      } catch (err) {
        if (!this.#running) break;
        this.#ready = false;
        this.#s.logger.error({ err }, 'worker cycle failed; retrying');
        sleepMs = errorBackoffMs;
        errorBackoffMs = Math.min(errorBackoffMs * 2, MAX_ERROR_BACKOFF_MS);
      }
      if (!this.#running) break;
      if (sleepMs > 0) await this.#sleep(sleepMs);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  /** Waits on BullMQ's marker (as BullMQ workers do), so new jobs wake the loop without polling. */
  async #listen(): Promise<void> {
    while (this.#running) {
      try {
        const popped = await within(
          MARKER_WAIT_S * 3000,
          this.#blocking.bzpopmin(this.#keys.marker, MARKER_WAIT_S),
        );
        // BZPOPMIN answers within its own timeout; an answer overdue by far more means a hung connection.
        if (!popped.done) this.#blocking.disconnect(true);
        if (popped.error) throw popped.error;
        if (popped.value) this.#wake();
      } catch {
        if (!this.#running) return;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** One pass of the loop; returns how long to sleep before the next pass (0 = go on at once). */
  async #cycle(): Promise<number> {
    const s = this.#s;
    let ingested = 0;
    let invalid = 0;
    const rounds = this.#hadReadyGroups ? INGEST_ROUNDS_WHILE_READY : INGEST_ROUNDS;
    for (let round = 0; round < rounds; round++) {
      const r = await this.#store.ingest(INGEST_CHUNK);
      ingested += r.moved;
      invalid += r.invalid;
      if (r.waiting === 0 || r.moved + r.invalid + r.duplicates === 0) break;
    }
    const now = Date.now();
    if (invalid > 0 || now >= this.#nextTickAt) await failInvalidJobs(this.#store, s.limits);
    let nextTick = TICK_MS;
    if (now >= this.#nextTickAt) {
      // Broken in-flight marks cannot arise from a script run twice, only from older versions or manual
      // edits: a slice of them is checked every tenth tick.
      const sweep = this.#ticks++ % SWEEP_EVERY_TICKS === 0 ? SWEEP_MARKS : 0;
      const t = await this.#store.tick(s.ambiguousHoldMs, { sweep });
      await pruneFailed(this.#redis, this.#keys, { outcomeTtlSeconds: s.outcomeTtlSeconds });
      this.#nextTickAt = now + TICK_MS;
      if (t.nextDueMs >= 0) nextTick = Math.min(nextTick, t.nextDueMs);
      if (t.reclaimed > 0) s.logger.warn({ batches: t.reclaimed }, 'took back batches whose lease expired');
      if (t.repaired > 0)
        s.logger.warn({ objects: t.repaired }, 'repaired in-flight marks of vanished batches');
    }
    const report = await this.#store.ready();
    this.#hadReadyGroups = report.groups.length > 0;
    if (s.metrics && now >= this.#nextGaugesAt) {
      this.#nextGaugesAt = now + 5000;
      const oldest = report.groups.map((g) => g.oldestEnqueuedAt);
      await refreshGauges(
        this.#redis,
        this.#keys,
        this.#limiter,
        s.metrics,
        this.#labels.configuredAccounts,
        oldest,
      ).catch(() => {});
    }
    let sleepMs = Math.min(nextTick, TICK_MS);
    if (!this.#running) return 0;
    const groups = report.groups;
    if (groups.length === 0) return ingested > 0 ? 0 : sleepMs;

    const accounts = new Set(groups.map((g) => g.group.split('|')[0] ?? ''));
    const limitOf = (account: string) => {
      const budget = s.budgetFor(account);
      const mine = this.#inflightOf(account);
      return accountLimit({
        target: budget ? this.#demand.target(account, budget) : s.concurrency,
        ceiling: s.concurrency,
        readyAccounts: accounts.size,
        othersInflight: this.#inflight.size - mine,
      });
    };
    const start = this.#rotation++ % groups.length;
    const ordered = [...groups.slice(start), ...groups.slice(0, start)];
    let dispatched = 0;
    for (const g of ordered) {
      if (this.#inflight.size >= s.concurrency) break;
      const account = g.group.split('|')[0] ?? '';
      // A deep group yields several full batches in one pass, saving an ingest and a report per batch.
      let remaining = g.pendingObjects;
      for (let first = true; this.#inflight.size < s.concurrency; first = false) {
        const blocked = (this.#blockedUntil.get(account) ?? 0) - Date.now();
        if (blocked > 0) {
          sleepMs = Math.min(sleepMs, blocked);
          break;
        }
        if (this.#inflightOf(account) >= limitOf(account)) break;
        const lingerLeft = g.oldestEnqueuedAt + s.lingerMs - report.now;
        if (remaining < s.maxBatchSize && !(first && lingerLeft <= 0 && report.waiting === 0)) {
          if (first && lingerLeft > 0) sleepMs = Math.min(sleepMs, lingerLeft);
          break;
        }
        const claimed = await this.#claimAndDispatch(g.group, account);
        if (claimed.kind === 'wait') {
          sleepMs = Math.min(sleepMs, claimed.ms);
          break;
        }
        if (claimed.kind === 'none') break;
        remaining -= claimed.objects;
        dispatched++;
      }
    }
    return dispatched > 0 && this.#inflight.size < s.concurrency ? 0 : sleepMs;
  }

  /** Claims one batch of the group and starts it, when the account's budget is free now or within moments. */
  async #claimAndDispatch(
    group: string,
    account: string,
  ): Promise<{ kind: 'ok'; objects: number } | { kind: 'wait'; ms: number } | { kind: 'none' }> {
    const s = this.#s;
    const budget = s.budgetFor(account);
    if (budget) {
      // A batch of this account already waits for its grant; it wakes the loop when it has it.
      if ((this.#ahead.get(account) ?? 0) >= aheadTarget(budget))
        return { kind: 'wait', ms: AHEAD_MAX_WAIT_MS };
      const look = await this.#limiter.peek(account, budget);
      if (!look.granted && (look.reason !== 'window' || look.waitMs > AHEAD_MAX_WAIT_MS)) {
        // A pause can be lifted early (credentials fixed, operator resume): look again at least every second.
        const waitMs = look.reason === 'window' ? look.waitMs : Math.min(look.waitMs, 1000);
        const ms = waitMs + Math.random() * Math.min(20, waitMs * 0.1);
        this.#blockedUntil.set(account, Date.now() + ms);
        return { kind: 'wait', ms };
      }
      // Budget is free now or very soon: claim and prepare first, and let the batch take its grant itself, right
      // before its call. HubSpot counts a call when it arrives; a grant taken before the claim would leave the
      // claim's and the preparation's time between the two, and a cold or busy replica takes long there.
    }
    const batchId = randomUUID();
    const claim = await this.#store.claim({
      group,
      batchId,
      workerId: this.#workerId,
      leaseMs: s.leaseMs,
      maxObjects: s.maxBatchSize,
      minObjects: s.maxBatchSize,
      lingerMs: s.lingerMs,
      maxUpdatesPerObject: MAX_UPDATES_PER_OBJECT,
    });
    if (claim.kind !== 'ok') return { kind: 'none' };
    this.#dispatch(group, batchId, claim.objects, budget);
    return { kind: 'ok', objects: claim.objects.length };
  }

  #inflightOf(account: string): number {
    let n = 0;
    for (const b of this.#inflight.values()) if (b.account === account) n++;
    return n;
  }

  #dispatch(
    group: string,
    batchId: string,
    objects: ClaimedObject[],
    budget: AccountBudget | undefined,
  ): void {
    const abort = new AbortController();
    const account = group.split('|')[0] ?? '';
    const entry = { abort, account, done: Promise.resolve(), settling: false };
    // Counted until its grant comes (or the batch ends without needing one).
    let ahead = budget !== undefined;
    if (ahead) this.#ahead.set(account, (this.#ahead.get(account) ?? 0) + 1);
    const granted = () => {
      if (!ahead) return;
      ahead = false;
      const left = (this.#ahead.get(account) ?? 1) - 1;
      if (left > 0) this.#ahead.set(account, left);
      else this.#ahead.delete(account);
      this.#wake();
    };
    entry.done = runBatch(this.#batchContext, {
      group,
      batchId,
      objects,
      budget,
      signal: abort.signal,
      onGranted: granted,
      onSettling: () => {
        entry.settling = true;
      },
    })
      .catch((err: unknown) => this.#s.logger.error({ batchId, err }, 'batch failed; its lease will expire'))
      .finally(() => {
        granted();
        this.#inflight.delete(batchId);
        this.#s.metrics?.inflightBatches.set(this.#inflight.size);
        this.#wake();
      });
    this.#inflight.set(batchId, entry);
    this.#s.metrics?.inflightBatches.set(this.#inflight.size);
  }
}
