import { type BatchInputSent, completedBody } from './batch-body.js';
import type { ReadContext } from './batch-read.js';
import { ErrorCategory, invalidPropertiesBody, validationBody } from './errors.js';
import { findProperty } from './schema.js';
import { checkProperty, type PropertyIssue, uniqueConflict } from './values.js';

/** Everything one batch-update needs besides its inputs: what a batch-read gets, and how to write. */
export interface BatchContext extends ReadContext {
  autoCreate: boolean;
  echoTraceIds: boolean;
  traceIdsInErrors: boolean;
}

/** Why a whole batch was refused. */
export type RejectReason = 'oversize' | 'duplicateIds' | 'idProperty' | 'properties';

/** The answer to a batch whose body parsed. */
export type BatchOutcome =
  | { kind: 'rejected'; status: 400; reason: RejectReason; body: Record<string, unknown> }
  | { kind: 'applied'; status: 200 | 207; applied: number; body: Record<string, unknown> };

const pairKey = (input: BatchInputSent): string => JSON.stringify([input.idProperty ?? null, input.id]);

/** Validates a whole batch (nothing applies if any check fails), then applies it. */
export function runBatchUpdate(ctx: BatchContext, inputs: BatchInputSent[]): BatchOutcome {
  const rejection = validate(ctx, inputs);
  if (rejection) return rejection;
  return apply(ctx, inputs);
}

function reject(reason: RejectReason, body: Record<string, unknown>): BatchOutcome {
  return { kind: 'rejected', status: 400, reason, body };
}

function validate(ctx: BatchContext, inputs: BatchInputSent[]): BatchOutcome | undefined {
  const { correlationId, schema } = ctx;
  if (inputs.length > ctx.maxInputs) {
    return reject(
      'oversize',
      validationBody(
        `The maximum number of inputs supported in a batch is ${ctx.maxInputs}. Please reduce the number of items and try again`,
        correlationId,
      ),
    );
  }

  const seen = new Set<string>();
  const duplicates = new Map<string, string>();
  for (const input of inputs) {
    const key = pairKey(input);
    if (seen.has(key)) duplicates.set(key, input.id);
    seen.add(key);
  }
  if (duplicates.size > 0) {
    const ids = [...duplicates.values()];
    return reject(
      'duplicateIds',
      validationBody(
        `Duplicate IDs found in batch input: [${ids.join(', ')}]. IDs must be unique`,
        correlationId,
        {
          context: { ids },
        },
      ),
    );
  }

  // An unknown idProperty is refused like a non-unique one: either way it cannot identify a record, and
  // hs_object_id is refused too, as observed, because it is not a "unique property".
  for (const idProperty of new Set(
    inputs.flatMap((i) => (i.idProperty === undefined ? [] : [i.idProperty])),
  )) {
    const property = findProperty(schema, idProperty);
    if (!property?.hasUniqueValue) {
      return reject(
        'idProperty',
        validationBody(
          `Unable to perform update/upsert by non-unique ${schema.objectTypeId} property ${idProperty} in portal ID ${ctx.portalId}`,
          correlationId,
        ),
      );
    }
  }

  const issues = propertyIssues(ctx, inputs);
  if (issues.length > 0) return reject('properties', invalidPropertiesBody(issues, correlationId));
  return undefined;
}

/** Every distinct invalid (property, value) across all inputs, so a client can drop every poison input at once. */
function propertyIssues(ctx: BatchContext, inputs: BatchInputSent[]): PropertyIssue[] {
  const { store, objectType, schema } = ctx;
  const issues = new Map<string, PropertyIssue>();
  // unique (property, value) -> the object the batch assigns it to; undefined when the input resolves to none
  const claimed = new Map<string, string | undefined>();
  for (const input of inputs) {
    const target = store.resolve(objectType, input.idProperty, input.id);
    for (const [name, value] of Object.entries(input.properties)) {
      const key = JSON.stringify([name, value]);
      if (issues.has(key)) continue;
      const issue = checkProperty(schema, name, value);
      if (issue) {
        issues.set(key, issue);
        continue;
      }
      if (value === '' || !findProperty(schema, name)?.hasUniqueValue) continue;
      const holder = store.holderOf(objectType, name, value);
      if (holder !== undefined && holder !== target) {
        issues.set(key, uniqueConflict(name, value, holder));
        continue;
      }
      if (claimed.has(key) && (claimed.get(key) !== target || target === undefined)) {
        issues.set(key, uniqueConflict(name, value, claimed.get(key) ?? 'in the same batch'));
        continue;
      }
      claimed.set(key, target);
    }
  }
  return [...issues.values()];
}

function apply(ctx: BatchContext, inputs: BatchInputSent[]): BatchOutcome {
  const { store, objectType, schema } = ctx;
  const results: Array<Record<string, unknown>> = [];
  const missing: BatchInputSent[] = [];
  for (const input of inputs) {
    let id = store.resolve(objectType, input.idProperty, input.id);
    if (id === undefined && ctx.autoCreate) {
      const seedProps = input.idProperty === undefined ? {} : { [input.idProperty]: input.id };
      const created = store.create(
        objectType,
        [
          input.idProperty === undefined
            ? { id: input.id, properties: seedProps }
            : { properties: seedProps },
        ],
        ctx.now(),
      );
      id = created[0]?.id;
    }
    if (id === undefined) {
      missing.push(input);
      continue;
    }
    const object = store.apply(objectType, id, input.properties, ctx.now());
    const result: Record<string, unknown> = {
      id: object.id,
      properties: { ...input.properties, hs_object_id: object.id, lastmodifieddate: object.updatedAt },
      createdAt: object.createdAt,
      updatedAt: object.updatedAt,
      archived: false,
    };
    if (ctx.echoTraceIds && input.objectWriteTraceId !== undefined) {
      result.objectWriteTraceId = input.objectWriteTraceId;
    }
    results.push(result);
  }
  if (ctx.shuffleResults) ctx.random.shuffle(results);

  const body = completedBody(ctx, results);
  if (missing.length === 0) return { kind: 'applied', status: 200, applied: results.length, body };

  const context: Record<string, string[]> = { ids: missing.map((i) => i.id) };
  const traceIds = missing.flatMap((i) => (i.objectWriteTraceId === undefined ? [] : [i.objectWriteTraceId]));
  if (ctx.traceIdsInErrors && traceIds.length > 0) context.objectWriteTraceId = traceIds;
  body.numErrors = 1;
  body.errors = [
    {
      status: 'error',
      category: ErrorCategory.objectNotFound,
      message: `Could not get some ${schema.singularName} objects, they may be deleted or not exist. Check that ids are valid.`,
      context,
    },
  ];
  return { kind: 'applied', status: 207, applied: results.length, body };
}
