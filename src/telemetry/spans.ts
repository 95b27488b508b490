import { type Link, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { HubSpotAnswer } from '../hubspot/port.js';
import { parseTraceparent } from './traceparent.js';

/**
 * OpenTelemetry spans of the worker's HubSpot calls, through `@opentelemetry/api` only: without an SDK the app
 * registers, the tracer is a no-op and this costs next to nothing.
 */

/** The instrumentation scope of every span the queue starts. */
export const TRACER_NAME = 'hubspot-batch-queue';

/** Span attribute names. */
export const SpanAttr = {
  account: 'hubspot.account',
  objectType: 'hubspot.object_type',
  inputs: 'hubspot.inputs',
  attempt: 'hubspot.attempt',
  callInBatch: 'hubspot.batch.call',
  batchId: 'hubspot.batch.id',
  correlationId: 'hubspot.correlation_id',
  policyName: 'hubspot.rate_limit.policy',
  httpStatus: 'http.response.status_code',
  transportError: 'error.type',
} as const;

/** What a call span is started with. */
export interface CallSpanStart {
  /** `hubspot.batch_update` or `hubspot.batch_read`. */
  name: string;
  account: string;
  objectType: string;
  inputs: number;
  /** The attempt the call is for the update furthest along (1 for a first send). */
  attempt?: number;
  /** The call's number within its batch (1-based). */
  callInBatch?: number;
  batchId?: string;
  /** The producers' `traceparent`s of the updates the call carries: each becomes a link. */
  traceparents?: Iterable<string | undefined>;
}

/**
 * Starts the span of one HubSpot call (a client span, a root of its own: one call serves many producers' traces,
 * so it links to each instead of choosing one parent).
 */
export function startCallSpan(start: CallSpanStart): Span {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const tp of start.traceparents ?? []) {
    const sc = parseTraceparent(tp);
    if (!sc || seen.has(sc.spanId + sc.traceId)) continue;
    seen.add(sc.spanId + sc.traceId);
    links.push({ context: sc });
  }
  const attributes: Record<string, string | number> = {
    [SpanAttr.account]: start.account,
    [SpanAttr.objectType]: start.objectType,
    [SpanAttr.inputs]: start.inputs,
  };
  if (start.attempt !== undefined) attributes[SpanAttr.attempt] = start.attempt;
  if (start.callInBatch !== undefined) attributes[SpanAttr.callInBatch] = start.callInBatch;
  if (start.batchId !== undefined) attributes[SpanAttr.batchId] = start.batchId;
  return trace
    .getTracer(TRACER_NAME)
    .startSpan(start.name, { kind: SpanKind.CLIENT, links, attributes, root: true });
}

/** Ends a call span with what came back: HTTP status and HubSpot's correlation id, or the transport failure. */
export function endCallSpan(span: Span, answer: HubSpotAnswer | undefined, policyName?: string): void {
  if (!answer) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'the call threw' });
  } else if (answer.kind === 'http') {
    span.setAttribute(SpanAttr.httpStatus, answer.status);
    if (answer.correlationId) span.setAttribute(SpanAttr.correlationId, answer.correlationId);
    if (answer.status >= 400)
      span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${answer.status}` });
  } else {
    span.setAttribute(SpanAttr.transportError, answer.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: answer.code });
  }
  if (policyName) span.setAttribute(SpanAttr.policyName, policyName);
  span.end();
}
