import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import {
  closeConnection,
  connectWithRetry,
  RedisUnavailableError,
  StartAbortedError,
  within,
} from '../connections.js';
import { type QueueKeys, queueKeys } from '../keys.js';
import { connectRedis } from '../redis.js';
import {
  claimShardCount,
  ONLY_SHARD,
  placeOf,
  ShardCountMismatchError,
  type ShardPlace,
  shardOfAccount,
} from '../shards.js';
import { AddressStore } from './addresses.js';
import { aheadTarget, CallDemand } from './demand.js';
import { Dispatcher } from './dispatcher.js';
import { HOUSEKEEPING, Housekeeping } from './housekeeping.js';
import { MetricLabels } from './labels.js';
import { LeaseKeeper } from './leases.js';
import { listenForJobs } from './marker.js';
import { LoopPass } from './pass.js';
import { Resolver } from './resolver.js';
import type { WorkerSettings } from './settings.js';
import { WorkerSlots } from './slots.js';
import { QueueStore } from './store.js';
import { wireBatches } from './wiring.js';

export type { WorkerSettings } from './settings.js';

/** Heartbeats per lease: a stall of a few heartbeats (a long GC, a loaded host) does not lose a lease. */
const HEARTBEATS_PER_LEASE = 6;
/** Longest pause between loop passes after a failed one (Redis unreachable), so recovery is quick. */
const MAX_ERROR_BACKOFF_MS = 5000;

/**
 * The worker loop: ingest → pick a group with a full (or lingered) batch → check the rate budget → claim → merge,
 * validate, send → settle. Batches run concurrently up to `concurrency`; each batch is one claim, at most a few
 * calls (retries of a 429 or poison isolation), and one settle.
 */
export class BatchWorker {
  readonly #s: WorkerSettings;
  readonly #keys: QueueKeys;
  readonly #shard: ShardPlace;
  readonly #redis: Redis;
  readonly #blocking: Redis;
  readonly #store: QueueStore;
  readonly #workerId: string;
  readonly #leases: LeaseKeeper;
  readonly #inflight: LeaseKeeper['batches'];
  /** Latency of each account's calls, which sets how many of its batches this replica keeps in flight. */
  readonly #demand = new CallDemand();
  readonly #pass: LoopPass;
  readonly #resolver: Resolver;
  #running = false;
  #loop?: Promise<void>;
  #listener?: Promise<void>;
  #wake: () => void = () => {};
  #ready = false;
  #closing?: Promise<void>;
  /** Aborted by close(): a start still connecting gives up, and the marker listener stops waiting. */
  readonly #starting = new AbortController();
  #lastProgressAt = performance.now();
  #watchdog?: NodeJS.Timeout;
  #fatal?: Error;

  constructor(settings: WorkerSettings) {
    this.#s = settings;
    this.#keys = queueKeys(settings.queueName);
    const shard = settings.shard ?? ONLY_SHARD;
    this.#shard = shard;
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
      addressTtlSeconds: settings.addressTtlSeconds,
      shard,
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
    const { limiter, batchContext } = wireBatches({
      settings,
      redis: this.#redis,
      keys: this.#keys,
      store: this.#store,
      labels,
      demand: this.#demand,
      signal: this.#starting.signal,
    });
    const slots = (settings.slots ?? new WorkerSlots()).join(
      () => this.#inflight.size,
      () => this.#wake(),
    );
    const dispatcher = new Dispatcher({
      store: this.#store,
      budget: limiter,
      batchContext,
      batches: this.#inflight,
      workerId: this.#workerId,
      leaseMs: settings.leaseMs,
      lingerMs: settings.batchLingerMs,
      maxBatchSize: settings.batchMaxSize,
      budgetFor: settings.budgetFor,
      aheadTarget,
      wake: () => this.#wake(),
      onError: (batchId, err) =>
        settings.logger.error({ batchId, err }, 'batch failed; its lease will expire'),
      onInflightChange: (count) => settings.gauges?.inflight(shard.index, count),
      onBatchEnd: () => slots.freed(),
    });
    const housekeeping = new Housekeeping({
      redis: this.#redis,
      keys: this.#keys,
      store: this.#store,
      limiter,
      ambiguousHoldMs: settings.ambiguousHoldMs,
      outcomeTtlSeconds: settings.outcomeTtlSeconds,
      outcomeStreamRetentionSeconds: settings.outcomeStreamRetentionSeconds,
      ...(settings.limits ? { limits: settings.limits } : {}),
      shard,
      logger: settings.logger,
      ...(settings.gauges ? { gauges: { sink: settings.gauges, shard: shard.index } } : {}),
      accounts: labels.configuredAccounts.filter((a) => shardOfAccount(a, shard.count) === shard.index),
    });
    this.#resolver = new Resolver({
      addresses: new AddressStore({
        redis: this.#redis,
        keys: this.#keys,
        mapTtlSeconds: settings.addressTtlSeconds,
        outcomeTtlSeconds: settings.outcomeTtlSeconds,
        maxAttempts: settings.maxAttempts,
      }),
      port: settings.port,
      budget: limiter,
      budgetFor: settings.budgetFor,
      authPauseMs: settings.authPauseMs,
      logger: settings.logger,
      wake: () => this.#wake(),
      signal: this.#starting.signal,
      lingerMs: settings.batchLingerMs,
    });
    this.#pass = new LoopPass({
      store: this.#store,
      housekeeping,
      dispatcher,
      resolver: this.#resolver,
      demand: this.#demand,
      slots,
      budgetFor: settings.budgetFor,
      lingerMs: settings.batchLingerMs,
      maxBatchSize: settings.batchMaxSize,
      concurrency: settings.concurrency,
      accountReserve: settings.accountReserve,
      accounts: settings.configuredAccounts.length,
      running: () => this.#running,
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
    // Shard 0 records the queue's shard count; a worker given another refuses before it takes any job. Every
    // shard records its place, which a producer's enqueue compares with its own before it files updates itself.
    try {
      await this.#untilAnswered(async () => {
        if (this.#shard.index === 0)
          await claimShardCount(this.#redis, this.#keys.shardCount, this.#keys.queueName, this.#shard.count);
        await this.#redis.set(this.#keys.shardPlace, placeOf(this.#shard));
      });
    } catch (err) {
      this.#redis.disconnect();
      this.#blocking.disconnect();
      throw err;
    }
    this.#running = true;
    this.#lastProgressAt = performance.now();
    this.#leases.start();
    this.#watchdog = setInterval(() => this.#checkProgress(), Math.min(1000, this.#s.livenessTimeoutMs));
    this.#loop = this.#runLoop();
    this.#listener = listenForJobs({
      blocking: this.#blocking,
      marker: this.#keys.marker,
      running: () => this.#running,
      onJobs: () => this.#wake(),
      signal: this.#starting.signal,
    });
    this.#s.logger.info({ workerId: this.#workerId, queue: this.#s.queueName }, 'worker started');
  }

  /**
   * Runs a start-up step (recording or checking the queue's shard count, recording the shard's place), trying
   * again while Redis does not answer (a restart, a failover's READONLY) for up to `livenessTimeoutMs`, like the
   * connection itself; a shard count mismatch is not tried again.
   */
  async #untilAnswered(step: () => Promise<void>): Promise<void> {
    const deadline = performance.now() + this.#s.livenessTimeoutMs;
    for (;;) {
      const r = await within(Math.max(0, deadline - performance.now()), step(), this.#starting.signal);
      if (this.#closing) throw new StartAbortedError();
      if (r.done && r.error === undefined) return;
      if (r.error instanceof ShardCountMismatchError) throw r.error;
      if (performance.now() >= deadline) {
        throw new RedisUnavailableError(this.#s.livenessTimeoutMs, r.error);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
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
    const batches = Promise.allSettled([
      ...[...this.#inflight.values()].map((b) => b.done),
      this.#resolver.idle(),
    ]);
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
      let sleepMs: number = HOUSEKEEPING.tickMs;
      try {
        sleepMs = await this.#pass.run();
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
}
