import { findProperty, type ObjectSchema, type PropertySchema } from './schema.js';

/** HubSpot's per-property validation codes, as they appear in `errors[].code`. */
export const PropertyErrorCode = {
  doesNotExist: 'PROPERTY_DOESNT_EXIST',
  readOnly: 'READ_ONLY_VALUE',
  invalidNumber: 'INVALID_INTEGER',
  invalidOption: 'INVALID_OPTION',
  invalidBoolean: 'INVALID_BOOLEAN',
  invalidDate: 'INVALID_DATE',
  invalidDatetime: 'INVALID_DATETIME',
  invalidEmail: 'INVALID_EMAIL',
  leadingTrailingWhitespace: 'LEADING_TRAILING_WHITESPACE',
  // Not observed: what HubSpot calls a unique value that another record already holds, here kept in the same
  // list so a client finds it the same way as any other poison value.
  uniqueConflict: 'CONFLICTING_UNIQUE_VALUE',
} as const;
export type PropertyErrorCode = (typeof PropertyErrorCode)[keyof typeof PropertyErrorCode];

/** One invalid (property, value) pair. */
export interface PropertyIssue {
  name: string;
  value: string;
  error: PropertyErrorCode;
  message: string;
}

/** Plain decimals only: HubSpot refuses exponent notation (seen: `1.4210854715202004e-14 was not a valid number.`). */
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const EPOCH_MS = /^-?\d+$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DAY_MS = 86_400_000;
// HubSpot counts invisible characters (zero-width spaces, word joiners) with whitespace.
const OUTER_WHITESPACE = /^[\s\u200b-\u200d\u2060]|[\s\u200b-\u200d\u2060]$/;

function isCalendarDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(value);
}

// HubSpot date properties take midnight UTC, as an ISO date or epoch milliseconds.
function isValidDate(value: string): boolean {
  if (isCalendarDate(value)) return true;
  return EPOCH_MS.test(value) && Number(value) % DAY_MS === 0;
}

function isValidDatetime(value: string): boolean {
  if (EPOCH_MS.test(value)) return true;
  return /^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value));
}

/** Checks one value against its property definition, ignoring uniqueness (which needs the store). */
export function checkValue(property: PropertySchema, value: string): PropertyIssue | undefined {
  const { name } = property;
  if (property.readOnly) {
    return {
      name,
      value,
      error: PropertyErrorCode.readOnly,
      message: `Property "${name}" is read-only and its value cannot be set.`,
    };
  }
  // An empty string clears the property whatever its type.
  if (value === '') return undefined;
  const bad = (error: PropertyErrorCode, message: string): PropertyIssue => ({ name, value, error, message });
  // Since 2025-04 HubSpot refuses, rather than trims, padded values of every type but string.
  if (property.type !== 'string' && OUTER_WHITESPACE.test(value)) {
    return bad(
      'LEADING_TRAILING_WHITESPACE',
      `${JSON.stringify(value)} includes leading or trailing whitespace.`,
    );
  }
  switch (property.type) {
    case 'number':
      return NUMBER.test(value)
        ? undefined
        : bad('INVALID_INTEGER', `${JSON.stringify(value)} is not a valid number.`);
    case 'bool':
      return value === 'true' || value === 'false'
        ? undefined
        : bad('INVALID_BOOLEAN', `${JSON.stringify(value)} is not a valid boolean (true or false).`);
    case 'enumeration': {
      const options = property.options ?? [];
      return options.includes(value)
        ? undefined
        : bad(
            'INVALID_OPTION',
            `${JSON.stringify(value)} is not one of the allowed options: [${options.join(', ')}]`,
          );
    }
    case 'date':
      return isValidDate(value)
        ? undefined
        : bad(
            'INVALID_DATE',
            `${JSON.stringify(value)} is not a valid date (YYYY-MM-DD or midnight UTC in ms).`,
          );
    case 'datetime':
      return isValidDatetime(value)
        ? undefined
        : bad('INVALID_DATETIME', `${JSON.stringify(value)} is not a valid datetime.`);
    default:
      if (property.format === 'email' && !EMAIL.test(value)) {
        return bad('INVALID_EMAIL', `Email address ${value} is invalid`);
      }
      return undefined;
  }
}

/** Checks a property name and value against a schema. */
export function checkProperty(schema: ObjectSchema, name: string, value: string): PropertyIssue | undefined {
  const property = findProperty(schema, name);
  if (!property) {
    return {
      name,
      value,
      error: PropertyErrorCode.doesNotExist,
      message: `Property "${name}" does not exist`,
    };
  }
  return checkValue(property, value);
}

/** The issue for a unique value that another object already holds. */
export function uniqueConflict(name: string, value: string, holderId: string): PropertyIssue {
  return {
    name,
    value,
    error: PropertyErrorCode.uniqueConflict,
    message: `${JSON.stringify(value)} is already the value of unique property "${name}" on object ${holderId}.`,
  };
}
