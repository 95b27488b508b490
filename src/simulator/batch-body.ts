import { z } from 'zod';

/** One batch-update input after parsing; ids and values are strings, as HubSpot treats them. */
export interface BatchInputSent {
  id: string;
  idProperty?: string;
  properties: Record<string, string>;
  objectWriteTraceId?: string;
}

// HubSpot coerces JSON numbers and booleans to their string form; null clears like an empty string.
const ValueSchema = z
  .union([z.string(), z.number(), z.boolean(), z.null()])
  .transform((v) => (v === null ? '' : String(v)));

const InputSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  idProperty: z.string().min(1).nullish(),
  properties: z.record(z.string(), ValueSchema),
  objectWriteTraceId: z.string().nullish(),
});

const BodySchema = z.object({ inputs: z.array(InputSchema) });

/** Parsing either yields the inputs or HubSpot's message for a malformed body. */
export type ParsedBatch = { ok: true; inputs: BatchInputSent[] } | { ok: false; message: string };

/** Parses a batch-update body from raw text; never throws. */
export function parseBatchBody(raw: string): ParsedBatch {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return { ok: false, message: `Invalid input JSON: ${(error as Error).message}` };
  }
  const parsed = BodySchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`,
    );
    return { ok: false, message: `Invalid input JSON: ${issues.join('; ')}` };
  }
  return {
    ok: true,
    inputs: parsed.data.inputs.map((input) => {
      const sent: BatchInputSent = { id: input.id, properties: input.properties };
      if (input.idProperty != null) sent.idProperty = input.idProperty;
      if (input.objectWriteTraceId != null) sent.objectWriteTraceId = input.objectWriteTraceId;
      return sent;
    }),
  };
}

/**
 * What a call record keeps of a batch-update or batch-read body even when it fails validation: ids,
 * idProperties (a read's one for each input) and trace ids as sent,
 * read leniently so a rejected batch is still traceable in the log.
 */
export function peekInputs(raw: string): {
  ids: string[];
  idProperties: Array<string | null>;
  traceIds: Array<string | null>;
} {
  const out = {
    ids: [] as string[],
    idProperties: [] as Array<string | null>,
    traceIds: [] as Array<string | null>,
  };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return out;
  }
  const field = z.union([z.string(), z.number()]).optional();
  const body = z.object({ inputs: z.array(z.unknown()), idProperty: field.catch(undefined) }).safeParse(json);
  if (!body.success) return out;
  // A batch-read names its idProperty once for every input.
  const shared = body.data.idProperty;
  const InputPeek = z.object({ id: field, idProperty: field, objectWriteTraceId: field });
  for (const item of body.data.inputs) {
    const input = InputPeek.safeParse(item);
    const value = (v: string | number | undefined): string | null => (v === undefined ? null : String(v));
    out.ids.push(input.success ? (value(input.data.id) ?? '') : '');
    out.idProperties.push(input.success ? value(input.data.idProperty ?? shared) : value(shared));
    out.traceIds.push(input.success ? value(input.data.objectWriteTraceId) : null);
  }
  return out;
}

/** The timestamps of one batch call's answer, as HubSpot's bodies carry them. */
export interface AnswerTimes {
  requestedAt: string;
  startedAt: string;
  now(): number;
}

/** The body of a batch call HubSpot completed: its results and timestamps (errors are added by the caller). */
export function completedBody(times: AnswerTimes, results: unknown[]): Record<string, unknown> {
  return {
    status: 'COMPLETE',
    results,
    requestedAt: times.requestedAt,
    startedAt: times.startedAt,
    completedAt: new Date(times.now()).toISOString(),
  };
}
