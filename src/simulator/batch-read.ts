import { z } from 'zod';
import { completedBody } from './batch-body.js';
import { ErrorCategory, validationBody } from './errors.js';
import type { Random } from './prng.js';
import { findProperty, type ObjectSchema } from './schema.js';
import type { ObjectStore } from './store.js';
import type { SimObject } from './types.js';

/** A batch-read body after parsing: which records (by id or unique value) and which of their properties. */
export interface ReadRequest {
  idProperty?: string;
  /** Property names asked for; absent: only the system ones. */
  properties?: string[];
  /** Input ids as sent: record ids, or values of `idProperty`. */
  ids: string[];
}

const ReadBodySchema = z.object({
  idProperty: z.string().min(1).nullish(),
  properties: z.array(z.string()).nullish(),
  inputs: z.array(z.object({ id: z.union([z.string(), z.number()]).transform(String) })),
});

/** Parses a batch-read body from raw text; never throws. */
export function parseReadBody(raw: string): { ok: true; read: ReadRequest } | { ok: false; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return { ok: false, message: `Invalid input JSON: ${(error as Error).message}` };
  }
  const parsed = ReadBodySchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`,
    );
    return { ok: false, message: `Invalid input JSON: ${issues.join('; ')}` };
  }
  const { idProperty, properties, inputs } = parsed.data;
  const read: ReadRequest = { ids: inputs.map((i) => i.id) };
  if (idProperty != null) read.idProperty = idProperty;
  if (properties != null) read.properties = properties;
  return { ok: true, read };
}

/** Everything one batch-read needs besides its request. */
export interface ReadContext {
  store: ObjectStore;
  /** Canonical object type name, e.g. `contacts`. */
  objectType: string;
  schema: ObjectSchema;
  portalId: string;
  correlationId: string;
  maxInputs: number;
  shuffleResults: boolean;
  random: Random;
  requestedAt: string;
  startedAt: string;
  now: () => number;
}

/** The answer to a batch-read whose body parsed. */
export type ReadOutcome =
  | { kind: 'rejected'; status: 400; reason: 'oversize' | 'idProperty'; body: Record<string, unknown> }
  | { kind: 'read'; status: 200 | 207; found: number; body: Record<string, unknown> };

/** HubSpot's read-only list of a contact's other emails (`;`-separated): where a merged record's emails show. */
export const ADDITIONAL_EMAILS = 'hs_additional_emails';

/**
 * Answers `POST .../{objectType}/batch/read`: each input's record, once, with the properties asked for (null
 * when unset, unknown names left out) plus `hs_object_id`; inputs that name no record are listed in one
 * OBJECT_NOT_FOUND error (207), as sent. Refused whole (400) over `maxInputs` inputs or for an `idProperty` that
 * is not unique, like a batch update.
 */
export function runBatchRead(ctx: ReadContext, read: ReadRequest): ReadOutcome {
  const { store, objectType, schema, correlationId } = ctx;
  if (read.ids.length > ctx.maxInputs) {
    const message = `The maximum number of inputs supported in a batch is ${ctx.maxInputs}. Please reduce the number of items and try again`;
    return {
      kind: 'rejected',
      status: 400,
      reason: 'oversize',
      body: validationBody(message, correlationId),
    };
  }
  if (read.idProperty !== undefined && !findProperty(schema, read.idProperty)?.hasUniqueValue) {
    const message = `Unable to perform read by non-unique ${schema.objectTypeId} property ${read.idProperty} in portal ID ${ctx.portalId}`;
    return {
      kind: 'rejected',
      status: 400,
      reason: 'idProperty',
      body: validationBody(message, correlationId),
    };
  }

  const results: Array<Record<string, unknown>> = [];
  const seen = new Set<string>();
  const missing: string[] = [];
  for (const id of read.ids) {
    const recordId = store.resolve(objectType, read.idProperty, id);
    const object = recordId === undefined ? undefined : store.get(objectType, recordId);
    if (!object) {
      missing.push(id);
      continue;
    }
    if (seen.has(object.id)) continue;
    seen.add(object.id);
    results.push({
      id: object.id,
      properties: propertiesOf(schema, object, read.properties ?? []),
      createdAt: object.createdAt,
      updatedAt: object.updatedAt,
      archived: false,
    });
  }
  if (ctx.shuffleResults) ctx.random.shuffle(results);

  const body = completedBody(ctx, results);
  if (missing.length === 0) return { kind: 'read', status: 200, found: results.length, body };
  body.numErrors = 1;
  body.errors = [
    {
      status: 'error',
      category: ErrorCategory.objectNotFound,
      message: `Could not get some ${schema.singularName} objects, they may be deleted or not exist. Check that ids are valid.`,
      context: { ids: missing },
    },
  ];
  return { kind: 'read', status: 207, found: results.length, body };
}

/** The requested properties of one record, as a read answers them. */
function propertiesOf(
  schema: ObjectSchema,
  object: SimObject,
  names: string[],
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const name of names) {
    if (!findProperty(schema, name)) continue;
    if (name === 'createdate') out[name] = object.createdAt;
    else if (name === 'lastmodifieddate') out[name] = object.updatedAt;
    else if (name === ADDITIONAL_EMAILS) out[name] = object.aliases?.email?.join(';') || null;
    else out[name] = object.properties[name] ?? null;
  }
  out.hs_object_id = object.id;
  return out;
}
