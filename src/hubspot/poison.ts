import { InputIndex } from './attribution.js';
import {
  isBatchTooLargeMessage,
  type PropertyProblem,
  parseDuplicateIds,
  parseNonUniqueIdProperty,
} from './error-messages.js';
import type { BatchInput } from './port.js';
import { PropertyProblems, pinProblem } from './problems.js';
import { contextStrings, type HubSpotErrorBody } from './responses.js';
import type { PoisonHint } from './verdict.js';

/**
 * Which inputs a whole-batch 400 implicates (see {@link PoisonHint}): every input the body names by trace id or
 * id, or pins by a property problem, so that only those fail and the rest of the batch is sent again.
 */
export function poisonHint(inputs: BatchInput[], body: HubSpotErrorBody | undefined): PoisonHint {
  const sources = [body ?? {}, ...(body?.errors ?? [])];
  const index = new InputIndex(inputs);
  const implicated = new Set<number>();
  const ids = new Set<string>();
  const duplicateIds = new Set<string>();
  const collected = new PropertyProblems();
  let nonUniqueIdProperty: string | undefined;
  let batchTooLarge = false;
  for (const source of sources) {
    const { message, context } = source;
    const namedIds = contextStrings(context, 'ids');
    for (const id of namedIds) ids.add(id);
    const duplicates = parseDuplicateIds(message);
    if (duplicates) for (const id of [...duplicates, ...namedIds]) duplicateIds.add(id);
    for (const i of index.named(contextStrings(context, 'objectWriteTraceId'), duplicates ? [] : namedIds)) {
      implicated.add(i);
    }
    collected.read(source);
    nonUniqueIdProperty ??= parseNonUniqueIdProperty(message);
    batchTooLarge ||= isBatchTooLargeMessage(message);
  }
  for (const id of duplicateIds) ids.add(id);
  if (duplicateIds.size === 0 && sources.some((s) => parseDuplicateIds(s.message))) {
    for (const id of duplicatesAmong(inputs)) duplicateIds.add(id);
  }
  const problems = collected.list;
  const bad = new Map<number, PropertyProblem[]>();
  const suspects = new Set<number>();
  for (const p of problems) {
    const pinned = pinProblem(inputs, p);
    for (const i of pinned.certain) {
      implicated.add(i);
      bad.set(i, [...(bad.get(i) ?? []), p]);
    }
    for (const i of pinned.suspects) suspects.add(i);
  }
  inputs.forEach((input, i) => {
    if (nonUniqueIdProperty !== undefined && input.idProperty === nonUniqueIdProperty) implicated.add(i);
  });
  const traceOf = (i: number) => (inputs[i] as BatchInput).objectWriteTraceId;
  const hint: PoisonHint = {
    traceIds: inputs.flatMap((input, i) => (implicated.has(i) ? [input.objectWriteTraceId] : [])),
    badProperties: Object.fromEntries([...bad].map(([i, list]) => [traceOf(i), list])),
    suspects: inputs.flatMap((input, i) =>
      suspects.has(i) && !implicated.has(i) ? [input.objectWriteTraceId] : [],
    ),
    ids: [...ids],
    properties: problems,
    duplicateIds: [...duplicateIds],
    batchTooLarge,
  };
  if (nonUniqueIdProperty !== undefined) hint.nonUniqueIdProperty = nonUniqueIdProperty;
  return hint;
}

function duplicatesAmong(inputs: BatchInput[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const input of inputs) (seen.has(input.id) ? dup : seen).add(input.id);
  return [...dup];
}
