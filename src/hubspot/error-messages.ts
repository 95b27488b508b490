import { z } from 'zod';
import { optionalString } from './responses.js';

/**
 * What HubSpot's error messages say beyond their category: the property problems of a validation 400, the value
 * each one quotes, duplicate ids, a non-unique id property, an oversized batch. HubSpot puts some of this only in
 * the message text, so it is read from there, leniently: a message in another wording names nothing.
 */

/** One property problem HubSpot reported in a 400: the property, its error code, and the rejected value if known. */
export interface PropertyProblem {
  name: string;
  code?: string;
  message: string;
  /** The rejected value as sent: JSON-unescaped when HubSpot quoted it. */
  value?: string;
  /** The quoted value as written in the message, when unescaping changed it (`42\n` for a trailing newline). */
  rawValue?: string;
}

/** A value quoted by a validation message; see {@link PropertyProblem}. */
export interface QuotedValue {
  value: string;
  rawValue?: string;
}

const PropertyValidationSchema = z.looseObject({
  name: optionalString,
  error: optionalString,
  message: optionalString,
  propertyValue: z
    .union([z.string(), z.number().transform(String), z.boolean().transform(String)])
    .optional()
    .catch(undefined),
});

/**
 * The property problems in `Property values were not valid: [{...}]`. The JSON may be cut short in long messages,
 * so when the array does not parse, each complete `{...}` object in it is parsed on its own.
 */
export function parseInvalidPropertiesMessage(message: string | undefined): PropertyProblem[] {
  if (!message) return [];
  const at = message.search(/property values were not valid/i);
  const start = at < 0 ? -1 : message.indexOf('[', at);
  if (start < 0) return [];
  const text = message.slice(start);
  let entries: unknown[];
  try {
    const whole: unknown = JSON.parse(text);
    entries = Array.isArray(whole) ? whole : [];
  } catch {
    entries = [];
    for (const match of text.matchAll(/\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\}/g)) {
      try {
        entries.push(JSON.parse(match[0]));
      } catch {
        // A fragment that is not JSON names nothing we can use.
      }
    }
  }
  return entries.flatMap((entry) => {
    const parsed = PropertyValidationSchema.safeParse(entry);
    if (!parsed.success || !parsed.data.name) return [];
    const { name, error, message: text, propertyValue } = parsed.data;
    const problem: PropertyProblem = { name, message: text ?? `Property "${name}" was not valid` };
    if (error) problem.code = error;
    if (propertyValue !== undefined) problem.value = propertyValue;
    else Object.assign(problem, offendingValue(text));
    return [problem];
  });
}

/** The wording that follows the value in HubSpot's validation messages. */
const REJECTION =
  '(?:(?:is|was) not (?:a valid|one of the allowed options)|includes leading or trailing whitespace)';
const QUOTED_VALUE = new RegExp(`^"((?:[^"\\\\]|\\\\.)*)" ${REJECTION}`, 's');
const BARE_VALUE = new RegExp(`^(.*?) ${REJECTION}`, 's');

/**
 * The rejected value quoted by a HubSpot validation message: `"abc" is not a valid number.`,
 * `abc was not a valid number.`, `x was not one of the allowed options: [...]`,
 * `"42\n" includes leading or trailing whitespace.`. HubSpot quotes a value JSON-escaped, so a quoted value is
 * unescaped to compare with what was sent; the text as written is kept too, in case it was not escaped.
 */
export function offendingValue(message: string | undefined): QuotedValue | undefined {
  if (!message) return undefined;
  const quoted = QUOTED_VALUE.exec(message)?.[1];
  if (quoted !== undefined) {
    const value = jsonUnescape(quoted);
    return value === undefined || value === quoted ? { value: quoted } : { value, rawValue: quoted };
  }
  const bare = BARE_VALUE.exec(message)?.[1];
  return bare === undefined ? undefined : { value: bare };
}

function jsonUnescape(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(`"${text}"`);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The ids of `Duplicate IDs found in batch input: [a, b]. IDs must be unique`; `undefined` for other messages. */
export function parseDuplicateIds(message: string | undefined): string[] | undefined {
  if (!message || !/duplicate ids/i.test(message)) return undefined;
  const list = /duplicate ids[^[]*\[([^\]]*)\]/i.exec(message)?.[1];
  if (list === undefined) return [];
  return list
    .split(',')
    .map((s) => s.trim().replace(/^"(.*)"$/, '$1'))
    .filter((s) => s !== '');
}

/** The property of `Unable to perform update/upsert by non-unique 0-1 property email in portal ID ...`. */
export function parseNonUniqueIdProperty(message: string | undefined): string | undefined {
  if (!message) return undefined;
  return /non-unique\s+(?:[\w-]+\s+)?property\s+"?([^\s"]+?)"?(?:\s|$|[.,;])/i.exec(message)?.[1];
}

/** True for `The maximum number of inputs supported in a batch is 100...`. */
export function isBatchTooLargeMessage(message: string | undefined): boolean {
  return message !== undefined && /maximum number of inputs/i.test(message);
}
