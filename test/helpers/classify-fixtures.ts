import type { BatchInput, HubSpotAnswer } from '../../src/hubspot/port.js';

/** An HTTP answer with the given status and body, no rate-limit headers, 5 ms latency. */
export function http(
  status: number,
  body: unknown,
  extra: Partial<Extract<HubSpotAnswer, { kind: 'http' }>> = {},
) {
  return {
    kind: 'http',
    status,
    body,
    rateLimit: {},
    latencyMs: 5,
    ...extra,
  } as const satisfies HubSpotAnswer;
}

/** A batch input with trace id `trace`, setting firstname unless told otherwise. */
export function input(
  id: string,
  trace: string,
  properties: Record<string, string> = { firstname: 'Ada' },
  idProperty?: string,
) {
  const i: BatchInput = { id, properties, objectWriteTraceId: trace };
  if (idProperty !== undefined) i.idProperty = idProperty;
  return i;
}
