import { offendingValue, type PropertyProblem, parseInvalidPropertiesMessage } from './error-messages.js';
import type { BatchInput } from './port.js';
import { type BatchError, contextStrings } from './responses.js';

/**
 * The property problems HubSpot reports, and which inputs each one singles out. One reading for both answers that
 * reject property values: a whole-batch 400 (see `poisonHint`) and a 207 error naming one input (see
 * `attributeBatchAnswer`), so both are split by property the same way.
 */

/** Collects property problems from HubSpot's messages and error contexts, each problem once. */
export class PropertyProblems {
  readonly list: PropertyProblem[] = [];

  /** Adds the problems one error (or a whole-request error body) reports: in its message and its context. */
  read(source: Pick<BatchError, 'message' | 'context'> & { code?: unknown }): void {
    const { message, context } = source;
    const code = typeof source.code === 'string' ? source.code : undefined;
    for (const p of parseInvalidPropertiesMessage(message)) this.add(p);
    for (const name of contextStrings(context, 'propertyName')) {
      const p: PropertyProblem = { name, message: message ?? `Property "${name}" was not valid` };
      if (code) p.code = code;
      Object.assign(p, offendingValue(message));
      this.add(p);
    }
  }

  /**
   * The message's list and `errors[]` usually report the same problem twice; two values of one property are two
   * problems.
   */
  add(p: PropertyProblem): void {
    const same = this.list.filter((q) => q.name === p.name);
    const known =
      same.find((q) => q.value === p.value) ??
      (p.value === undefined ? same[0] : same.find((q) => q.value === undefined));
    if (!known) {
      this.list.push({ ...p });
      return;
    }
    // What one report of the problem left out, another may name.
    if (known.code === undefined && p.code !== undefined) known.code = p.code;
    if (known.value === undefined && p.value !== undefined) known.value = p.value;
    if (known.rawValue === undefined && p.rawValue !== undefined) known.rawValue = p.rawValue;
  }
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

/**
 * The property problems of the errors HubSpot's answer names one input by, when every error is one: the input
 * fails only in those properties (see `PoisonFate`). `undefined` when an error names no property the input
 * writes (OBJECT_NOT_FOUND, say): then the whole input fails.
 */
export function inputPropertyProblems(
  input: BatchInput,
  errors: readonly BatchError[],
): PropertyProblem[] | undefined {
  const all: PropertyProblem[] = [];
  for (const error of errors) {
    const problems = new PropertyProblems();
    problems.read(error);
    const pinned = problems.list.filter((p) => pinProblem([input], p).certain.length > 0);
    if (pinned.length === 0) return undefined;
    all.push(...pinned);
  }
  return all.length > 0 ? all : undefined;
}

function holdsValue(input: BatchInput, problem: PropertyProblem): boolean {
  const sent = input.properties[problem.name];
  return sent !== undefined && (sent === problem.value || sent === problem.rawValue);
}
