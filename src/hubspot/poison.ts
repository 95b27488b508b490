import { InputIndex } from './attribution.js';
import {
  isBatchTooLargeMessage,
  offendingValue,
  type PropertyProblem,
  parseDuplicateIds,
  parseInvalidPropertiesMessage,
  parseNonUniqueIdProperty,
} from './error-messages.js';
import type { BatchInput } from './port.js';
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
  const problems: PropertyProblem[] = [];
  let nonUniqueIdProperty: string | undefined;
  let batchTooLarge = false;
  // The message's list and `errors[]` usually report the same problem twice; two values of one property are
  // two problems.
  const addProblem = (p: PropertyProblem) => {
    const same = problems.filter((q) => q.name === p.name);
    const known =
      same.find((q) => q.value === p.value) ??
      (p.value === undefined ? same[0] : same.find((q) => q.value === undefined));
    if (!known) {
      problems.push({ ...p });
      return;
    }
    // What one report of the problem left out, another may name.
    if (known.code === undefined && p.code !== undefined) known.code = p.code;
    if (known.value === undefined && p.value !== undefined) known.value = p.value;
    if (known.rawValue === undefined && p.rawValue !== undefined) known.rawValue = p.rawValue;
  };
  for (const source of sources) {
    const { message, context } = source;
    const code = 'code' in source && typeof source.code === 'string' ? source.code : undefined;
    const namedIds = contextStrings(context, 'ids');
    for (const id of namedIds) ids.add(id);
    const duplicates = parseDuplicateIds(message);
    if (duplicates) for (const id of [...duplicates, ...namedIds]) duplicateIds.add(id);
    for (const i of index.named(contextStrings(context, 'objectWriteTraceId'), duplicates ? [] : namedIds)) {
      implicated.add(i);
    }
    for (const p of parseInvalidPropertiesMessage(message)) addProblem(p);
    for (const name of contextStrings(context, 'propertyName')) {
      const p: PropertyProblem = { name, message: message ?? `Property "${name}" was not valid` };
      if (code) p.code = code;
      Object.assign(p, offendingValue(message));
      addProblem(p);
    }
    nonUniqueIdProperty ??= parseNonUniqueIdProperty(message);
    batchTooLarge ||= isBatchTooLargeMessage(message);
  }
  for (const id of duplicateIds) ids.add(id);
  if (duplicateIds.size === 0 && sources.some((s) => parseDuplicateIds(s.message))) {
    for (const id of duplicatesAmong(inputs)) duplicateIds.add(id);
  }
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

/** Problems that make every write of the property fail, whatever its value. */
const UNWRITABLE_CODES: ReadonlySet<string> = new Set(['PROPERTY_DOESNT_EXIST', 'READ_ONLY_VALUE']);

/**
 * Which inputs one property problem singles out. Certain: every setter of a property that cannot be written,
 * the setters holding the quoted value (as HubSpot escaped it, or unescaped), or the lone setter. Otherwise the
 * setters are only suspects: failing them all would fail valid updates on a guess.
 */
export function pinProblem(
  inputs: readonly BatchInput[],
  problem: PropertyProblem,
): { certain: number[]; suspects: number[] } {
  const setting = inputs.flatMap((input, i) => (Object.hasOwn(input.properties, problem.name) ? [i] : []));
  if (problem.code !== undefined && UNWRITABLE_CODES.has(problem.code))
    return { certain: setting, suspects: [] };
  if (problem.value !== undefined) {
    const exact = setting.filter((i) => holdsValue(inputs[i] as BatchInput, problem));
    if (exact.length > 0) return { certain: exact, suspects: [] };
  }
  return setting.length === 1 ? { certain: setting, suspects: [] } : { certain: [], suspects: setting };
}

function holdsValue(input: BatchInput, problem: PropertyProblem): boolean {
  const sent = input.properties[problem.name];
  return sent !== undefined && (sent === problem.value || sent === problem.rawValue);
}

function duplicatesAmong(inputs: BatchInput[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const input of inputs) (seen.has(input.id) ? dup : seen).add(input.id);
  return [...dup];
}
