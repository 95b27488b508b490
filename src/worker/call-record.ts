import type { Logger } from 'pino';
import type { HubSpotAnswer } from '../hubspot/port.js';
import type { BatchVerdict } from '../hubspot/verdict.js';
import type { Metrics } from '../metrics.js';
import type { MetricLabels } from './labels.js';

/**
 * Records one HubSpot call in metrics (under bounded label values) and logs; `onPropertyRejected` drops a stale
 * cached schema.
 */
export function recordCall(
  metrics: Metrics | undefined,
  labeller: MetricLabels,
  logger: Logger,
  info: { account: string; objectType: string; size: number; answer: HubSpotAnswer; verdict: BatchVerdict },
  onPropertyRejected: () => void,
): void {
  const { account, objectType, answer, verdict } = info;
  const status = answer.kind === 'http' ? String(answer.status) : answer.code;
  if (metrics) {
    const labels = labeller.of(account, objectType);
    metrics.calls.inc({ ...labels, status });
    metrics.callDuration.observe(labels, answer.latencyMs / 1000);
    metrics.batchSize.observe(labels, info.size);
    if (answer.kind === 'http') {
      if (answer.rateLimit.remaining !== undefined)
        metrics.remaining.set({ account: labels.account }, answer.rateLimit.remaining);
      if (answer.rateLimit.dailyRemaining !== undefined) {
        metrics.dailyRemaining.set({ account: labels.account }, answer.rateLimit.dailyRemaining);
      }
    }
    if (verdict.kind === 'rateLimited')
      metrics.rateLimited.inc({ account: labels.account, policy: verdict.policyName });
  }
  const correlationId = answer.kind === 'http' ? answer.correlationId : undefined;
  if (verdict.kind === 'rejected') {
    if (verdict.poison.properties.length > 0) onPropertyRejected();
    logger.warn(
      { account, objectType, size: info.size, correlationId, error: verdict.error },
      'HubSpot rejected a batch (400); isolating',
    );
  } else if (verdict.kind === 'retry') {
    logger.info(
      { account, objectType, size: info.size, correlationId, reason: verdict.reason },
      'batch will be retried',
    );
  } else if (verdict.kind === 'failAll') {
    logger.warn(
      { account, objectType, size: info.size, correlationId, error: verdict.error },
      'HubSpot failed a whole batch',
    );
  } else {
    logger.debug(
      { account, objectType, size: info.size, status, latencyMs: answer.latencyMs },
      'HubSpot call',
    );
  }
}
