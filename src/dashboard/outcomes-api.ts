import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Explanation } from '../story/explain.js';
import { describeIssues } from '../update.js';

/** The same rule as `objectWriteTraceId` in the update contract: no whitespace, `:` or `|`, at most 128 chars. */
const QuerySchema = z.object({
  id: z
    .string()
    .trim()
    .min(1, 'enter a trace id')
    .max(128, 'a trace id has at most 128 characters')
    .regex(/^[^\s:|]+$/, 'a trace id has no whitespace, ":" or "|"'),
});

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(JSON.stringify(body));
}

/**
 * `GET <base>/api/outcomes?id=<trace id>`: `{ outcome, story }` (the outcome including `queued` while the update
 * waits; the story as `explain` tells it), 404 `{ error }` for a trace id never seen or expired, 400 `{ error }`
 * for a malformed one.
 */
export async function serveOutcome(
  res: ServerResponse,
  query: URLSearchParams,
  explain: (id: string) => Promise<Explanation>,
): Promise<void> {
  const parsed = QuerySchema.safeParse({ id: query.get('id') ?? '' });
  if (!parsed.success) {
    json(res, 400, { error: describeIssues(parsed.error).join('; ') });
    return;
  }
  const story = await explain(parsed.data.id);
  if (!story.seen) {
    json(res, 404, { error: 'no update with this trace id (never enqueued, or its outcome expired)' });
    return;
  }
  json(res, 200, { outcome: story.outcome, story });
}
