import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { parseGroup, type QueueKeys, queueKeys } from '../keys.js';
import { RateLimiter } from '../ratelimit/limiter.js';
import { connectRedis } from '../redis.js';
import { closeConnection, connectWithRetry, StartAbortedError, within } from './connections.js';
import { accountLimit, aheadTarget, CallDemand } from './demand.js';
import { Dispatcher } from './dispatcher.js';
import { Housekeeping, TICK_MS } from './housekeeping.js';
import { MetricLabels } from './labels.js';
import { LeaseKeeper } from './leases.js';
import { heldPauseBoundMs, schemaFetchGate } from './pauses.js';
import type { BatchContext } from './run-batch.js';
import { nextBatch, passSleepMs, rotate } from './schedule.js';
import { SchemaCache } from './schema-cache.js';
import type { WorkerSettings } from './settings.js';
import { QueueStore } from './store.js';

export type { WorkerSettings } from './settings.js';

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
/** Heartbeats per lease: a stall of a few heartbeats (a long GC, a loaded host) does not lose a lease. */
const HEARTBEATS_PER_LEASE = 6;
/** Longest pause between loop passes after a failed one (Redis unreachable), so recovery is quick. */
const MAX_ERROR_BACKOFF_MS = 5000;
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
  readonly #workerId: string;
  readonly #leases: LeaseKeeper;
  readonly #inflight: LeaseKeeper['batches'];
  /** Latency of each account's calls, which sets how many of its batches this replica keeps in flight. */
  readonly #demand = new CallDemand();
  readonly #dispatcher: Dispatcher;
  readonly #housekeeping: Housekeeping;
  #running = false;
  #loop?: Promise<void>;
  #listener?: Promise<void>;
  #wake: () => void = () => {};
  #rotation = 0;
  #ready = false;
  #hadReadyGroups = false;
  #closing?: Promise<void>;
  /** Aborted by close(): a start still connecting gives up, and the marker listener stops waiting. */
  readonly #starting = new AbortController();
  #lastProgressAt = performance.now();
  #watchdog?: NodeJS.Timeout;
  #fatal?: Error;

  constructor(settings: WorkerSettings) {
    this.#s = settings;
    this.#keys = queueKeys(settings.queueName);
    this.#workerId = settings.workerId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
    const labels = new MetricLabels(settings.configuredAccounts);
    this.#redis = connectRedis(settings.redisUrl, { lazyConnect: true });
    this.#blocking = connectRedis(settings.redisUrl, { lazyConnect: true });
    this.#redis.on('error', (err) => settings.logger.warn({ err }, 'redis connection error'));
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
    const limiter = new RateLimiter({
      redis: this.#redis,
      keys: this.#keys,
      ...(settings.rateLimitMarginMs !== undefined ? { marginMs: settings.rateLimitMarginMs } : {}),
      onWait: (account, ms, reason) =>
        settings.metrics?.rateLimitWait.inc({ account: labels.account(account), reason }, ms / 1000),
    });
    const schemas = new SchemaCache({
      port: settings.port,
      ttlMs: 10 * 60_000,
      logger: settings.logger,
      beforeFetch: schemaFetchGate(limiter, settings.budgetFor, heldPauseBoundMs(settings.leaseMs)),
    });
    const batchContext: BatchContext = {
      port: settings.port,
      store: this.#store,
      limiter,
      schemas,
      logger: settings.logger,
      ...(settings.metrics ? { metrics: settings.metrics } : {}),
      labels,
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
    this.#dispatcher = new Dispatcher({
      store: this.#store,
      budget: limiter,
      batchContext,
      batches: this.#inflight,
      workerId: this.#workerId,
      leaseMs: settings.leaseMs,
      lingerMs: settings.lingerMs,
      maxBatchSize: settings.maxBatchSize,
      budgetFor: settings.budgetFor,
      aheadTarget,
      wake: () => this.#wake(),
      onError: (batchId, err) =>
        settings.logger.error({ batchId, err }, 'batch failed; its lease will expire'),
      onInflightChange: (count) => settings.metrics?.inflightBatches.set(count),
    });
    this.#housekeeping = new Housekeeping({
      redis: this.#redis,
      keys: this.#keys,
      store: this.#store,
      limiter,
      ambiguousHoldMs: settings.ambiguousHoldMs,
      outcomeTtlSeconds: settings.outcomeTtlSeconds,
      ...(settings.limits ? { limits: settings.limits } : {}),
      logger: settings.logger,
      ...(settings.metrics ? { metrics: settings.metrics } : {}),
      accounts: labels.configuredAccounts,
    });
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
          this.#starting.signal,
        );
        if (!this.#running) return;
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
    let sleepMs = await this.#housekeeping.run(now, invalid);
    const report = await this.#store.ready();
    this.#hadReadyGroups = report.groups.length > 0;
    await this.#housekeeping.gauges(
      now,
      report.groups.map((g) => g.oldestEnqueuedAt),
    );
    if (!this.#running) return 0;
    if (report.groups.length === 0) return ingested > 0 ? 0 : sleepMs;

    const readyAccounts = new Set(report.groups.map((g) => parseGroup(g.group).account)).size;
    let dispatched = 0;
    for (const g of rotate(report.groups, this.#rotation++)) {
      if (this.#inflight.size >= s.concurrency) break;
      const { account } = parseGroup(g.group);
      const budget = s.budgetFor(account);
      // A deep group yields several full batches in one pass, saving an ingest and a report per batch.
      let remaining = g.pendingObjects;
      for (let first = true; ; first = false) {
        const inflightOfAccount = this.#dispatcher.inflightOf(account);
        const next = nextBatch({
          remaining,
          first,
          oldestEnqueuedAt: g.oldestEnqueuedAt,
          now: report.now,
          waiting: report.waiting,
          lingerMs: s.lingerMs,
          maxBatchSize: s.maxBatchSize,
          blockedForMs: this.#dispatcher.blockedForMs(account),
          inflightOfAccount,
          accountLimit: accountLimit({
            target: budget ? this.#demand.target(account, budget) : s.concurrency,
            ceiling: s.concurrency,
            readyAccounts,
            othersInflight: this.#inflight.size - inflightOfAccount,
          }),
          inflightTotal: this.#inflight.size,
          concurrency: s.concurrency,
        });
        if (next.kind === 'stop') {
          if (next.sleepMs !== undefined) sleepMs = Math.min(sleepMs, next.sleepMs);
          break;
        }
        const claimed = await this.#dispatcher.claimAndDispatch(g.group, account);
        if (claimed.kind === 'wait') sleepMs = Math.min(sleepMs, claimed.ms);
        if (claimed.kind !== 'ok') break;
        remaining -= claimed.objects;
        dispatched++;
      }
    }
    return passSleepMs({
      dispatched,
      inflightTotal: this.#inflight.size,
      concurrency: s.concurrency,
      sleepMs,
    });
  }
}
