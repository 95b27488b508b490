import { UnexpectedResponseError } from '../errors.js';
import type { PropertyDefinition } from './port.js';
import { parsePropertiesList } from './responses.js';

/**
 * Local validation of property values against HubSpot's property definitions, so an input HubSpot would reject
 * fails on its own instead of costing a 400 for its whole batch (and counting against HubSpot's 5% error budget).
 * Where HubSpot's exact rules are unknown the checks lean lenient: a value we wrongly reject fails an update for
 * good, while a value we wrongly accept only costs one 400 that the worker then isolates.
 */

/** Codes as HubSpot reports them in `Property values were not valid`. */
export const PropertyErrorCode = {
  doesntExist: 'PROPERTY_DOESNT_EXIST',
  invalidInteger: 'INVALID_INTEGER',
  invalidOption: 'INVALID_OPTION',
  invalidBoolean: 'INVALID_BOOLEAN',
  invalidDate: 'INVALID_DATE',
  invalidDatetime: 'INVALID_DATETIME',
  readOnly: 'READ_ONLY_VALUE',
  leadingTrailingWhitespace: 'LEADING_TRAILING_WHITESPACE',
} as const;
export type PropertyErrorCode = (typeof PropertyErrorCode)[keyof typeof PropertyErrorCode];

/** One value HubSpot would reject, in HubSpot's own terms. */
export interface PropertyViolation {
  name: string;
  code: string;
  message: string;
}

/**
 * The definitions in a `GET /crm/properties/{objectType}` body. Entries without a name or type are skipped.
 * @throws UnexpectedResponseError when the body is not a property list: an empty schema would make every
 * property look unknown and fail every update.
 */
export function parsePropertyDefinitions(body: unknown): PropertyDefinition[] {
  const entries = parsePropertiesList(body);
  if (!entries) throw new UnexpectedResponseError('HubSpot property list has no "results" array');
  return entries.flatMap((entry) => {
    if (!entry.name || !entry.type) return [];
    const def: PropertyDefinition = { name: entry.name, type: entry.type };
    // External options (pipeline stages, owners) live outside the definition: an empty list constrains nothing.
    const options = (entry.options ?? []).flatMap((o) => (o.value !== undefined ? [o.value] : []));
    if (options.length > 0 && entry.externalOptions !== true) def.options = options;
    if (entry.hasUniqueValue !== undefined) def.hasUniqueValue = entry.hasUniqueValue;
    if (entry.modificationMetadata?.readOnlyValue === true || entry.calculated === true) def.readOnly = true;
    return [def];
  });
}

/** Indexes definitions by name, the shape {@link validateProperties} takes. */
export function definitionMap(defs: Iterable<PropertyDefinition>): Map<string, PropertyDefinition> {
  return new Map([...defs].map((d) => [d.name, d]));
}

/**
 * The values of `properties` HubSpot would reject, in property order; empty when all pass. An empty string
 * clears a property and is always accepted, except on read-only properties.
 */
export function validateProperties(
  defs: Map<string, PropertyDefinition>,
  properties: Record<string, string>,
): PropertyViolation[] {
  const violations: PropertyViolation[] = [];
  for (const [name, value] of Object.entries(properties)) {
    const violation = validateValue(name, defs.get(name), value);
    if (violation) violations.push(violation);
  }
  return violations;
}

function validateValue(
  name: string,
  def: PropertyDefinition | undefined,
  value: string,
): PropertyViolation | undefined {
  const violation = (code: PropertyErrorCode, message: string) => ({ name, code, message });
  if (!def) return violation(PropertyErrorCode.doesntExist, `Property "${name}" does not exist`);
  if (def.readOnly) {
    return violation(
      PropertyErrorCode.readOnly,
      `"${name}" is a read only property; its value cannot be set.`,
    );
  }
  if (value === '') return undefined;
  // HubSpot rejects such values rather than trimming them (since 2025-04); a trimmed check here would let one
  // through to cost a 400 for its whole batch.
  if (NON_STRING_TYPES.has(def.type) && hasOuterWhitespace(value)) {
    return violation(
      PropertyErrorCode.leadingTrailingWhitespace,
      `${JSON.stringify(value)} includes leading or trailing whitespace.`,
    );
  }
  switch (def.type) {
    case 'number':
      // HubSpot rejects exponent notation too (seen: "1.4210854715202004e-14 was not a valid number.").
      return isPlainNumber(value)
        ? undefined
        : violation(PropertyErrorCode.invalidInteger, `${value} was not a valid number.`);
    case 'bool':
    case 'boolean':
      return /^(true|false)$/i.test(value)
        ? undefined
        : violation(
            PropertyErrorCode.invalidBoolean,
            `${value} is not a valid boolean; use "true" or "false".`,
          );
    case 'enumeration':
      return validOption(def, value)
        ? undefined
        : violation(
            PropertyErrorCode.invalidOption,
            `${value} was not one of the allowed options: [${listOptions(def.options ?? [])}]`,
          );
    case 'date':
      return isDateValue(value)
        ? undefined
        : violation(
            PropertyErrorCode.invalidDate,
            `${value} is not a valid date; use YYYY-MM-DD or epoch ms.`,
          );
    case 'datetime':
      return isDateValue(value)
        ? undefined
        : violation(
            PropertyErrorCode.invalidDatetime,
            `${value} is not a valid datetime; use ISO 8601 or epoch ms.`,
          );
    default:
      return undefined;
  }
}

/** The property types HubSpot validates as non-string values. */
const NON_STRING_TYPES: ReadonlySet<string> = new Set([
  'number',
  'bool',
  'boolean',
  'enumeration',
  'date',
  'datetime',
]);

/** Whitespace, as JavaScript knows it, plus the invisible characters HubSpot counts with it. */
const OUTER_WHITESPACE = /^[\s\u200b-\u200d\u2060]|[\s\u200b-\u200d\u2060]$/;

/** True when `value` starts or ends with whitespace or an invisible character. */
export function hasOuterWhitespace(value: string): boolean {
  return OUTER_WHITESPACE.test(value);
}

function isPlainNumber(value: string): boolean {
  return /^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(value);
}

/** Multi-select (checkbox) enumerations take `a;b;c`, so each part must be an option. */
function validOption(def: PropertyDefinition, value: string): boolean {
  const options = def.options;
  if (!options || options.length === 0) return true;
  if (options.includes(value)) return true;
  const parts = value.split(';').filter((p) => p !== '');
  return parts.length > 0 && parts.every((p) => options.includes(p));
}

function listOptions(options: string[]): string {
  const shown = options.slice(0, 20).join(', ');
  return options.length > 20 ? `${shown}, ... (${options.length} options)` : shown;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * ISO 8601 date or date-time, or epoch milliseconds. Date-times are accepted for date properties too: HubSpot's
 * midnight rule for those is not checked, leaning lenient.
 */
function isDateValue(v: string): boolean {
  if (/^-?\d{1,15}$/.test(v)) return true;
  if (ISO_DATE.test(v)) return isRealDate(v);
  if (ISO_DATETIME.test(v)) return isRealDate(v.slice(0, 10)) && !Number.isNaN(Date.parse(v));
  return false;
}

function isRealDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number);
  if (y === undefined || m === undefined || d === undefined) return false;
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}
