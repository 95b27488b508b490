/**
 * hubspot-batch-queue: hand HubSpot CRM object updates to a Redis queue; workers coalesce them into
 * rate-limited batch-update calls and record an outcome for every update.
 */

export type { FailedFilter, ReplayOptions } from './admin/dead-letters.js';
export type { FailAccountOptions, FailAccountResult } from './admin/fail-account.js';
export type { ObliterateOptions, ObliterateResult } from './admin/obliterate.js';
export { ObliterateRefusal, ObliterateRefusedError } from './admin/obliterate.js';
export type { PruneResult } from './admin/prune.js';
export type { QueueAdmin, QueueAdminOptions } from './admin/queue-admin.js';
export { createQueueAdmin } from './admin/queue-admin.js';
export type { AccountStatus, QueueDepth, QueueStatus, StatusBudget } from './admin/status.js';
export type { StrandedJobs } from './admin/stranded.js';
export type { HubSpotPort, TokenProvider } from './hubspot/port.js';
export { queueKeys } from './keys.js';
export { createMetrics } from './metrics.js';
export type { Outcome, OutcomeError } from './outcomes/outcome.js';
export { isTerminal, OutcomeStatus } from './outcomes/outcome.js';
export { OutcomeRecordFormat } from './outcomes/record.js';
export {
  OutcomeEntryDroppedError,
  type OutcomeSubscription,
  type SubscribeOptions,
} from './outcomes/subscribe.js';
export type {
  CheckedUpdates,
  EnqueueResult,
  Producer,
  ProducerOptions,
  TraceIdCheck,
} from './producer/producer.js';
export { createProducer, WaitTimeoutError } from './producer/producer.js';
export type { TraceIdConflict, TraceIdHolder } from './producer/trace-ids.js';
export { TraceIdConflictError } from './producer/trace-ids.js';
export { MAX_QUEUE_SHARDS, shardOfAccount, shardQueueNames } from './shards.js';
export type {
  ExplainedBatch,
  ExplainedCall,
  Explanation,
  UnknownUpdate,
  UpdateStory,
} from './story/explain.js';
export { renderExplanation } from './story/render.js';
export { TRACER_NAME } from './telemetry/spans.js';
export type { FetchedToken, SharedTokenProviderOptions } from './tokens/token-cache.js';
export { createSharedTokenProvider } from './tokens/token-cache.js';
export { TokenRefreshError } from './tokens/token-error.js';
export type { PropertyValue, Update, UpdateLimits, UpdateRequest } from './update.js';
export {
  DEFAULT_UPDATE_LIMITS,
  jobIdFor,
  UpdateRequestSchema,
  UpdateValidationError,
  updateSchema,
} from './update.js';
export type { AccountOptions, Worker, WorkerOptions } from './worker/index.js';
export { createWorker } from './worker/index.js';
