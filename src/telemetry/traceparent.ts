import { type Context, context, type SpanContext, TraceFlags, trace } from '@opentelemetry/api';

/**
 * The producer's span context travels with each job as a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`),
 * formatted and read here rather than through the app's registered propagator: the worker must read what the
 * producer wrote whatever propagators either process configured (B3, Jaeger, none).
 */

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE = '0'.repeat(32);
const INVALID_SPAN = '0'.repeat(16);

/** The `traceparent` of the span active in `ctx` (default: the active context), or undefined when there is none. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${sc.traceId}-${sc.spanId}-${flags}`;
}

/** The remote span context a `traceparent` names, or undefined for anything else (absent, malformed, all zeros). */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  if (!value) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return undefined;
  const [, traceId = '', spanId = '', flags = '00'] = m;
  if (traceId === INVALID_TRACE || spanId === INVALID_SPAN) return undefined;
  return {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
}
