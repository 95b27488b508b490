import type { ApiDeps } from './api-handler.js';
import { parseBatchBody } from './batch-body.js';
import { parseReadBody, runBatchRead } from './batch-read.js';
import { runBatchUpdate } from './batch-update.js';
import { unknownObjectTypeBody, validationBody } from './errors.js';
import type { Portal } from './portals.js';
import type { ObjectSchema } from './schema.js';

/** An answer to send: what batch/update or batch/read decided, once faults and limits let the call through. */
export interface CallAnswer {
  status: number;
  body: unknown;
}

/** One call that passed auth and the rate limit: whose, to which object type, its raw body. */
export interface ApiCall {
  portal: Portal;
  objectType: string;
  raw: string;
  correlationId: string;
  /** When the call arrived (ISO), for the body's requestedAt. */
  requestedAt: string;
}

/** What both batch calls are told about the call they serve. */
function callContext(
  deps: ApiDeps,
  portal: Portal,
  resolved: { name: string; schema: ObjectSchema },
  correlationId: string,
  requestedAt: string,
) {
  return {
    store: portal.store,
    objectType: resolved.name,
    schema: resolved.schema,
    portalId: portal.id,
    correlationId,
    maxInputs: deps.options.maxInputs,
    shuffleResults: deps.options.shuffleResults,
    random: deps.random,
    requestedAt,
    startedAt: new Date(deps.clock.now()).toISOString(),
    now: () => deps.clock.now(),
  };
}

/** The object type's schema and the parsed body, or the 404/400 HubSpot answers when either is wrong. */
function checkCall<T>(
  deps: ApiDeps,
  objectType: string,
  parsed: { ok: true; value: T } | { ok: false; message: string },
  correlationId: string,
): { answer: CallAnswer } | { resolved: { name: string; schema: ObjectSchema }; value: T } {
  const resolved = deps.schemas.resolve(objectType);
  if (!resolved) return { answer: { status: 404, body: unknownObjectTypeBody(objectType, correlationId) } };
  if (!parsed.ok) return { answer: { status: 400, body: validationBody(parsed.message, correlationId) } };
  return { resolved, value: parsed.value };
}

/** Object type, body and validation checks, then the write: the normal answer of a batch-update call. */
export function processBatch(deps: ApiDeps, call: ApiCall): CallAnswer {
  const { portal, objectType, raw, correlationId, requestedAt } = call;
  const body = parseBatchBody(raw);
  const checked = checkCall(
    deps,
    objectType,
    body.ok ? { ok: true, value: body.inputs } : body,
    correlationId,
  );
  if ('answer' in checked) return checked.answer;
  const { resolved, value: inputs } = checked;
  const { options } = deps;
  const outcome = runBatchUpdate(
    {
      ...callContext(deps, portal, resolved, correlationId, requestedAt),
      autoCreate: options.autoCreate,
      echoTraceIds: options.echoTraceIds,
      traceIdsInErrors: options.traceIdsInErrors,
    },
    inputs,
  );
  if (outcome.kind === 'applied') deps.log.count('inputsApplied', outcome.applied);
  else if (outcome.reason === 'oversize') deps.log.count('oversizeBatches');
  else if (outcome.reason === 'duplicateIds') deps.log.count('duplicateIdBatches');
  else if (outcome.reason === 'properties') deps.log.count('invalidPropertyBatches');
  return { status: outcome.status, body: outcome.body };
}

/** Object type, body and size checks, then the lookup: the normal answer of a batch-read call. */
export function processRead(deps: ApiDeps, call: ApiCall): CallAnswer {
  const { portal, objectType, raw, correlationId, requestedAt } = call;
  const body = parseReadBody(raw);
  const checked = checkCall(deps, objectType, body.ok ? { ok: true, value: body.read } : body, correlationId);
  if ('answer' in checked) return checked.answer;
  const outcome = runBatchRead(
    callContext(deps, portal, checked.resolved, correlationId, requestedAt),
    checked.value,
  );
  if (outcome.kind === 'read') deps.log.count('recordsRead', outcome.found);
  else if (outcome.reason === 'oversize') deps.log.count('oversizeBatches');
  return { status: outcome.status, body: outcome.body };
}
