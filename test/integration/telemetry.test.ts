import { context, type Span, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanAttr } from '../../src/telemetry/spans.js';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker } from '../helpers/pipeline.js';

const exporter = new InMemorySpanExporter();

beforeAll(() => {
  // What an app that traces does: a provider and a context manager (the W3C traceparent is the queue's own).
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
});

afterAll(() => {
  trace.disable();
  context.disable();
});

describe('OpenTelemetry spans', () => {
  it('links every enqueued update span from a HubSpot call span, and every call span carries the correlation id', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => String(5000 + i));
    const sim = await testSimulator();
    sim.createObjects(
      TOKEN,
      'contacts',
      ids.map((id) => ({ id, properties: {} })),
    );
    // A 503 (retried in a batch of its own) and a 429 (sent again within its batch): more than one call span.
    sim.failNext(1, 'error5xx', { status: 503 });
    sim.failNext(1, 'status', {
      status: 429,
      body: {
        status: 'error',
        message: 'limit',
        errorType: 'RATE_LIMIT',
        policyName: 'TEN_SECONDLY_ROLLING',
      },
      headers: { 'Retry-After': '1' },
    });
    const queue = testQueue('otel');
    const producer = testProducer(queue);
    const tracer = trace.getTracer('app');
    const enqueueSpans: Span[] = [];
    const traces: string[] = [];
    // Each update is enqueued under a span of its own, as an app's request handlers would.
    for (const [i, id] of ids.entries()) {
      await tracer.startActiveSpan(`app.request ${i}`, async (span) => {
        const r = await producer.enqueue({ objectType: 'contacts', id, properties: { city: `c${i}` } });
        traces.push(r.objectWriteTraceId);
        enqueueSpans.push(span);
        span.end();
      });
    }
    await testWorker(queue, sim, { batchLingerMs: 20 });
    const outcomes = await producer.waitForOutcomes(traces);
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);

    const callSpans = exporter.getFinishedSpans().filter((s) => s.name === 'hubspot.batch_update');
    const simCalls = sim.calls().filter((c) => c.path.endsWith('/batch/update'));
    expect(callSpans).toHaveLength(simCalls.length);
    expect(callSpans.length).toBeGreaterThanOrEqual(3);

    const linked = new Set(
      callSpans.flatMap((s) => s.links.map((l) => `${l.context.traceId}/${l.context.spanId}`)),
    );
    for (const span of enqueueSpans) {
      const sc = span.spanContext();
      expect(linked.has(`${sc.traceId}/${sc.spanId}`), `span of ${span}`).toBe(true);
    }

    const correlationIds = new Set(simCalls.map((c) => c.correlationId));
    for (const span of callSpans) {
      const cid = span.attributes[SpanAttr.correlationId];
      expect(typeof cid === 'string' && correlationIds.has(cid), `correlation id ${String(cid)}`).toBe(true);
      expect(span.attributes[SpanAttr.objectType]).toBe('contacts');
      expect(span.attributes[SpanAttr.inputs]).toBe(span.links.length);
      expect(span.attributes[SpanAttr.attempt]).toBeGreaterThanOrEqual(1);
    }
    const byStatus = (status: number) =>
      callSpans.filter((s) => s.attributes[SpanAttr.httpStatus] === status);
    expect(byStatus(429).map((s) => s.attributes[SpanAttr.policyName])).toEqual(['TEN_SECONDLY_ROLLING']);
    expect(byStatus(503)).toHaveLength(1);
    expect(byStatus(200).every((s) => s.attributes[SpanAttr.policyName] === undefined)).toBe(true);
    // The updates the 503 carried were sent again as their second attempt.
    expect(byStatus(200).some((s) => s.attributes[SpanAttr.attempt] === 2)).toBe(true);
  });
});
