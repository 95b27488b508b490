import type { Logger } from 'pino';
import type { HubSpotPort } from '../hubspot/port.js';
import type { Metrics } from '../metrics.js';
import type { AccountBudget } from '../ratelimit/budget.js';
import type { ShardPlace } from '../shards.js';
import type { UpdateLimits } from '../update.js';
import type { WORKER_DEFAULTS } from './defaults.js';
import type { QueueGauges } from './gauges.js';
import type { WorkerSlots } from './slots.js';

/** The worker's tunables: every one has a default (`WORKER_DEFAULTS`, where each is described). */
export type Tunables = {
  -readonly [K in keyof typeof WORKER_DEFAULTS]: (typeof WORKER_DEFAULTS)[K] extends number
    ? number
    : (typeof WORKER_DEFAULTS)[K] extends boolean
      ? boolean
      : string;
};

/** Everything the worker loop is given; `createWorker` fills the tunables' defaults. */
export interface WorkerSettings extends Tunables {
  /** Budget of an account, or undefined when the account is not configured (its updates fail). */
  budgetFor: (account: string) => AccountBudget | undefined;
  port: HubSpotPort;
  /** Called once when the worker gives up (see `livenessTimeoutMs`); the process should exit non-zero. */
  onFatal?: (err: Error) => void;
  rateLimitMarginMs?: number;
  logger: Logger;
  metrics?: Metrics;
  /** The process's queue gauges, summed over the shards it serves; set with `metrics`. */
  gauges?: QueueGauges;
  /** Which shard of the queue this loop serves (`queueName` is the shard's): default the only one. */
  shard?: ShardPlace;
  /** The worker's `concurrency` slots, shared with its other shards' loops: default this loop's own. */
  slots?: WorkerSlots;
  /** Accounts with credentials: the only `account` label values, and the accounts gauges are kept for. */
  configuredAccounts: readonly string[];
  /** Size limits updates are validated against. */
  limits?: Partial<UpdateLimits>;
  workerId?: string;
}
