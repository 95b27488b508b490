import { Registry } from 'prom-client';
import { accountsOf, type Config, updateLimitsOf } from './config.js';
import { createDashboard, type Dashboard } from './dashboard/index.js';
import { queueKeys } from './keys.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { connectRedis } from './redis.js';
import { startOpsServer } from './server.js';
import { shardQueueNames } from './shards.js';
import { createWorker } from './worker/index.js';

/**
 * The `worker` command: reads the configuration once, wires Redis, HubSpot, metrics and signals, and runs until
 * SIGTERM or SIGINT. On a signal it stops taking work, lets in-flight batches finish (or hands them back), and
 * resolves with exit code 0.
 */
export async function runWorker(config: Config): Promise<number> {
  const logger = createLogger(config.LOG_LEVEL);
  const accounts = accountsOf(config);
  if (accounts.size === 0) {
    logger.warn('no HubSpot account configured (HUBSPOT_ACCESS_TOKEN / HUBSPOT_ACCOUNTS): updates will fail');
  }
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const worker = createWorker({
    redisUrl: config.REDIS_URL,
    queueName: config.QUEUE_NAME,
    shards: config.QUEUE_SHARDS,
    accounts: Object.fromEntries(accounts),
    hubspotBaseUrl: config.HUBSPOT_BASE_URL,
    hubspotApiVersion: config.HUBSPOT_API_VERSION,
    httpTimeoutMs: config.HTTP_TIMEOUT_MS,
    rateLimit: {
      maxRequests: config.RATE_LIMIT_MAX,
      windowMs: config.RATE_LIMIT_WINDOW_MS,
      ...(config.RATE_LIMIT_MARGIN_MS !== undefined ? { marginMs: config.RATE_LIMIT_MARGIN_MS } : {}),
    },
    batchLingerMs: config.BATCH_LINGER_MS,
    batchMaxSize: config.BATCH_MAX_SIZE,
    concurrency: config.WORKER_CONCURRENCY,
    accountReserve: config.WORKER_ACCOUNT_RESERVE,
    leaseMs: config.LEASE_MS,
    ambiguousHoldMs: config.AMBIGUOUS_HOLD_MS,
    livenessTimeoutMs: config.LIVENESS_TIMEOUT_MS,
    onFatal: (err) => stop('fatal', err),
    maxAttempts: config.MAX_ATTEMPTS,
    outcomeTtlSeconds: config.OUTCOME_TTL_SECONDS,
    addressTtlSeconds: config.ADDRESS_TTL_SECONDS,
    outcomeStreamRetentionSeconds: config.OUTCOME_STREAM_RETENTION_SECONDS,
    backoffBaseMs: config.BACKOFF_BASE_MS,
    backoffMaxMs: config.BACKOFF_MAX_MS,
    authPauseMs: config.AUTH_PAUSE_MS,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    validateProperties: config.VALIDATE_PROPERTIES,
    limits: updateLimitsOf(config),
    logger,
    metrics,
  });

  const dashboard = config.METRICS_PORT > 0 ? openDashboard(config, logger) : undefined;
  const ops =
    config.METRICS_PORT > 0
      ? await startOpsServer({
          port: config.METRICS_PORT,
          host: config.METRICS_HOST,
          registry,
          // Live while the loop makes progress; a worker that cannot reach Redis is unready first, and not live
          // once it gives up (it then exits non-zero).
          healthy: () => worker.live,
          ready: () => worker.ready,
          logger,
          ...(dashboard ? { routes: [dashboard.route] } : {}),
        })
      : undefined;

  let exitCode = 0;
  let stopping: Promise<void> | undefined;
  let stopped: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  function stop(reason: string, err?: Error): void {
    // Once a signal asked to stop, what fails on the way out (a start that was still connecting) is not fatal.
    if (stopping) return;
    if (err) exitCode = 1;
    if (err) logger.error({ err, reason }, 'shutting down after a fatal error');
    else logger.info({ signal: reason }, 'shutting down');
    stopping = worker.close().finally(stopped);
  }
  const onSignal = (signal: NodeJS.Signals) => stop(signal);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    try {
      await worker.start();
    } catch (err) {
      stop('start', err instanceof Error ? err : new Error(String(err)));
    }
    if (!stopping) {
      if (ops) logger.info({ port: ops.port }, 'metrics and health on /metrics, /healthz, /readyz');
      if (ops && dashboard) logger.info({ port: ops.port }, 'dashboard on /dashboard/ (basic auth)');
    }
    await done;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await ops?.close();
    await dashboard?.close();
    logger.flush?.();
  }
  return exitCode;
}

/**
 * The web view on the ops server, when DASHBOARD_USER and DASHBOARD_PASSWORD are both set. It has its own
 * Redis connection so its reads never queue behind the worker's commands.
 */
function openDashboard(config: Config, logger: ReturnType<typeof createLogger>): Dashboard | undefined {
  const user = config.DASHBOARD_USER;
  const password = config.DASHBOARD_PASSWORD;
  if (!user || !password) {
    if (user || password) logger.warn('dashboard disabled: set both DASHBOARD_USER and DASHBOARD_PASSWORD');
    return undefined;
  }
  const redis = connectRedis(config.REDIS_URL);
  const dashboard = createDashboard({
    redis,
    shards: shardQueueNames(config.QUEUE_NAME, config.QUEUE_SHARDS).map(queueKeys),
    credentials: { user, password },
  });
  return {
    route: dashboard.route,
    close: async () => {
      await dashboard.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
