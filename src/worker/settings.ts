import type { Logger } from 'pino';
import type { HubSpotPort } from '../hubspot/port.js';
import type { Metrics } from '../metrics.js';
import type { AccountBudget } from '../ratelimit/budget.js';
import type { UpdateLimits } from '../update.js';

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
