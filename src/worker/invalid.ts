import { buildOutcome } from '../outcomes/record.js';
import { describeIssues, UpdateRequestSchema } from '../update.js';
import { traceIdOfJob } from './prepare.js';
import type { QueueStore } from './store.js';

const BATCH = 100;

function str(data: unknown, field: string): string {
  if (data && typeof data === 'object' && field in data) {
    const v = (data as Record<string, unknown>)[field];
    if (typeof v === 'string') return v.replaceAll('|', '_');
  }
  return '';
}

/**
 * Fails jobs whose data could not even be routed to an object (not JSON, missing objectType or id, ...), with a
 * validation error naming every problem. They never block valid jobs: ingestion set them aside.
 */
export async function failInvalidJobs(store: QueueStore): Promise<number> {
  let total = 0;
  for (;;) {
    const items = await store.peekInvalid(BATCH);
    if (items.length === 0) return total;
    const now = Date.now();
    const records = items.map(({ jobId, data }) => {
      let raw: unknown;
      let issues: string[];
      try {
        raw = data === null ? undefined : JSON.parse(data);
        const parsed = UpdateRequestSchema.safeParse(raw);
        issues = parsed.success ? ['names an object that cannot be addressed'] : describeIssues(parsed.error);
      } catch {
        issues = ['job data is not valid JSON'];
      }
      if (data === null) issues = ['job has no data'];
      const trace = traceIdOfJob(jobId, raw);
      const objectKey = `${str(raw, 'account') || 'default'}|${str(raw, 'objectType')}|${str(raw, 'idProperty')}|${str(raw, 'id')}`;
      const outcome = buildOutcome({
        objectWriteTraceId: trace,
        objectKey,
        status: 'failed',
        attempts: 0,
        enqueuedAt: now,
        finishedAt: now,
        error: { category: 'VALIDATION_ERROR', message: `invalid update: ${issues.join('; ')}` },
      });
      return { jobId, trace, outcome: JSON.stringify(outcome) };
    });
    await store.failInvalid(records);
    total += records.length;
    if (items.length < BATCH) return total;
  }
}
