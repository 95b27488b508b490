import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric name starts with this prefix. */
export const METRIC_PREFIX = 'hbq_';

/** The worker's metrics, registered on an injected registry (no global singletons). */
export interface Metrics {
  registry: Registry;
  calls: Counter<'account' | 'object_type' | 'status'>;
  callDuration: Histogram<'account' | 'object_type'>;
  batchSize: Histogram<'account' | 'object_type'>;
  updates: Counter<'account' | 'object_type' | 'status'>;
  merged: Counter<'account' | 'object_type'>;
  rateLimitWait: Counter<'account' | 'reason'>;
  schemaWait: Counter<'account'>;
  pauses: Counter<'account' | 'reason'>;
  rateLimited: Counter<'account' | 'policy'>;
  remaining: Gauge<'account'>;
  dailyRemaining: Gauge<'account'>;
  paused: Gauge<'account' | 'reason'>;
  queueDepth: Gauge<'state'>;
  oldestWaitingAge: Gauge;
  inflightBatches: Gauge;
  failedUpdates: Gauge<'category'>;
}

/** Creates and registers the metrics. `defaultMetrics` adds Node process metrics under the same prefix. */
export function createMetrics(registry: Registry, options: { defaultMetrics?: boolean } = {}): Metrics {
  const p = METRIC_PREFIX;
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: p });
    // prom-client names these gauges `*_total`, a suffix Prometheus keeps for counters, which fails
    // `promtool check metrics`; no dashboard or alert uses them.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
      registry.removeSingleMetric(`${p}nodejs_${name}`);
    }
  }
  const registers = [registry];
  return {
    registry,
    calls: new Counter({
      name: `${p}hubspot_calls_total`,
      help: 'HubSpot batch-update calls by HTTP status or transport error code.',
      labelNames: ['account', 'object_type', 'status'],
      registers,
    }),
    callDuration: new Histogram({
      name: `${p}hubspot_call_duration_seconds`,
      help: 'Latency of HubSpot batch-update calls.',
      labelNames: ['account', 'object_type'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    batchSize: new Histogram({
      name: `${p}batch_size`,
      help: 'Inputs per HubSpot batch-update call.',
      labelNames: ['account', 'object_type'],
      buckets: [1, 5, 10, 25, 50, 75, 90, 99, 100],
      registers,
    }),
    updates: new Counter({
      name: `${p}updates_total`,
      help: 'Updates by outcome status (succeeded, failed, superseded, retrying).',
      labelNames: ['account', 'object_type', 'status'],
      registers,
    }),
    merged: new Counter({
      name: `${p}updates_merged_total`,
      help: 'Updates merged into an input together with other updates of the same object.',
      labelNames: ['account', 'object_type'],
      registers,
    }),
    rateLimitWait: new Counter({
      name: `${p}ratelimit_wait_seconds_total`,
      help: 'Time spent waiting for rate-limit budget, by reason (window, paused, daily).',
      labelNames: ['account', 'reason'],
      registers,
    }),
    schemaWait: new Counter({
      name: `${p}schema_wait_seconds_total`,
      help: "Time batches spent waiting for their object type's property schema (its first fetch, grant included).",
      labelNames: ['account'],
      registers,
    }),
    pauses: new Counter({
      name: `${p}ratelimit_pauses_total`,
      help: 'Account pauses by reason (rate_limit, daily, auth, manual).',
      labelNames: ['account', 'reason'],
      registers,
    }),
    rateLimited: new Counter({
      name: `${p}ratelimit_429_total`,
      help: 'HTTP 429 answers from HubSpot by policyName.',
      labelNames: ['account', 'policy'],
      registers,
    }),
    remaining: new Gauge({
      name: `${p}ratelimit_remaining`,
      help: 'Calls remaining in the rate-limit window as HubSpot last reported.',
      labelNames: ['account'],
      registers,
    }),
    dailyRemaining: new Gauge({
      name: `${p}ratelimit_daily_remaining`,
      help: 'Calls remaining today as HubSpot last reported.',
      labelNames: ['account'],
      registers,
    }),
    paused: new Gauge({
      name: `${p}account_paused`,
      help: '1 while an account is paused, by reason (rate_limit, daily, auth, manual); a daily stop is a daily pause.',
      labelNames: ['account', 'reason'],
      registers,
    }),
    queueDepth: new Gauge({
      name: `${p}queue_depth`,
      help: 'Updates by state: waiting (not yet ingested), pending, inflight, delayed (retry backoff), invalid.',
      labelNames: ['state'],
      registers,
    }),
    oldestWaitingAge: new Gauge({
      name: `${p}oldest_waiting_age_seconds`,
      help: 'Age of the oldest update not yet sent.',
      registers,
    }),
    inflightBatches: new Gauge({
      name: `${p}worker_inflight_batches`,
      help: 'Batches this worker has in flight.',
      registers,
    }),
    failedUpdates: new Gauge({
      name: `${p}failed_updates`,
      help: 'Failed updates kept in the dead-letter index, by error category.',
      labelNames: ['category'],
      registers,
    }),
  };
}

/** The README's row for the metrics `defaultMetrics` adds, which prom-client names and which vary by Node version. */
const PROCESS_METRICS_ROW = `| \`${METRIC_PREFIX}process_*\`, \`${METRIC_PREFIX}nodejs_*\` | – | – | Node.js process metrics. |`;

/**
 * The README's Metrics table: every metric {@link createMetrics} registers, with its type, label names and help
 * text read back from a registry, then one row for the Node process metrics.
 */
export function metricsMarkdown(): string {
  const registry = new Registry();
  createMetrics(registry, { defaultMetrics: false });
  const rows = registry.getMetricsAsArray().map((metric) => {
    // prom-client keeps the configured label names on the metric, though its typings do not declare them.
    const labels = (metric as { labelNames?: readonly string[] }).labelNames ?? [];
    const help = metric.help.replaceAll('|', '\\|');
    return `| \`${metric.name}\` | ${metric.type} | ${labels.join(', ') || '–'} | ${help} |`;
  });
  const header = ['| metric | type | labels | meaning |', '| --- | --- | --- | --- |'];
  return `${[...header, ...rows, PROCESS_METRICS_ROW].join('\n')}\n`;
}
