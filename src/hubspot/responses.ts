import { z } from 'zod';
import type { RateLimitSnapshot } from './port.js';

/**
 * What HubSpot sends back, parsed leniently. HubSpot's documented shapes are loose in practice (fields missing,
 * strings where arrays are documented), so every field is optional and unknown fields pass through. A scalar
 * field of an unexpected type becomes `undefined` rather than failing the whole body; a malformed `errors` or
 * `results` list does fail it, because silently dropping an error would record a failed input as a success.
 */

/** The values HubSpot's batch `status` takes; anything but `COMPLETE` means the batch did not fully apply. */
export const BatchStatus = {
  pending: 'PENDING',
  processing: 'PROCESSING',
  canceled: 'CANCELED',
  complete: 'COMPLETE',
} as const;
export type BatchStatus = (typeof BatchStatus)[keyof typeof BatchStatus];

const optionalString = z.string().optional().catch(undefined);
const optionalNumber = z.number().optional().catch(undefined);
const optionalBoolean = z.boolean().optional().catch(undefined);
/** Ids are strings in HubSpot's bodies, but a number is the same id. */
const idLike = z.union([z.string(), z.number().transform(String)]);
/** HubSpot documents context values as string arrays; a lone string is accepted as a one-element array. */
const stringList = z
  .union([idLike.transform((s) => [s]), z.array(z.unknown())])
  .transform((values) =>
    values.flatMap((v) => (typeof v === 'string' ? [v] : typeof v === 'number' ? [String(v)] : [])),
  )
  .optional()
  .catch(undefined);

/** `errors[].context` of a batch or error body: names the failed inputs or the offending properties. */
export const ErrorContextSchema = z.looseObject({
  ids: stringList,
  objectWriteTraceId: stringList,
  propertyName: stringList,
});
export type ErrorContext = z.infer<typeof ErrorContextSchema>;

/** One entry of a 207's `errors`. */
export const BatchErrorSchema = z.looseObject({
  status: optionalString,
  category: optionalString,
  subCategory: z.unknown().optional(),
  message: optionalString,
  code: optionalString,
  context: ErrorContextSchema.optional().catch(undefined),
});
export type BatchError = z.infer<typeof BatchErrorSchema>;

/** One entry of a batch response's `results`: HubSpot's internal id and the properties it now holds. */
export const BatchResultSchema = z.looseObject({
  id: idLike.optional().catch(undefined),
  properties: z.record(z.string(), z.unknown()).optional().catch(undefined),
  objectWriteTraceId: optionalString,
});
export type BatchResult = z.infer<typeof BatchResultSchema>;

/** The body of a 200 or 207 batch answer. */
export const BatchResponseSchema = z.looseObject({
  status: optionalString,
  results: z.array(BatchResultSchema).optional(),
  numErrors: optionalNumber,
  errors: z.array(BatchErrorSchema).optional(),
});
export type BatchResponse = z.infer<typeof BatchResponseSchema>;

/** The body of a whole-request error (4xx, some 5xx): every field optional, as HubSpot advises. */
export const HubSpotErrorBodySchema = z.looseObject({
  status: optionalString,
  message: optionalString,
  correlationId: optionalString,
  category: optionalString,
  subCategory: z.unknown().optional(),
  errors: z.array(BatchErrorSchema).optional().catch(undefined),
  context: ErrorContextSchema.optional().catch(undefined),
  policyName: optionalString,
  errorType: optionalString,
  groupName: optionalString,
});
export type HubSpotErrorBody = z.infer<typeof HubSpotErrorBodySchema>;

const PropertyOptionSchema = z.looseObject({
  value: idLike.optional().catch(undefined),
  label: optionalString,
  hidden: optionalBoolean,
});

/** One property definition as `GET /crm/properties/{objectType}` returns it. */
export const PropertySchema = z.looseObject({
  name: optionalString,
  type: optionalString,
  fieldType: optionalString,
  options: z.array(PropertyOptionSchema).optional().catch(undefined),
  hasUniqueValue: optionalBoolean,
  calculated: optionalBoolean,
  externalOptions: optionalBoolean,
  modificationMetadata: z
    .looseObject({ readOnlyValue: optionalBoolean, readOnlyDefinition: optionalBoolean })
    .optional()
    .catch(undefined),
});
export type PropertyEntry = z.infer<typeof PropertySchema>;

/** The body of `GET /crm/properties/{objectType}`. */
export const PropertiesListSchema = z.looseObject({ results: z.array(z.unknown()) });

/** Parses a 200/207 batch body; `undefined` when it is not one (HTML, text, wrong shape). */
export function parseBatchResponse(body: unknown): BatchResponse | undefined {
  const parsed = BatchResponseSchema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}

/** Parses a HubSpot error body; `undefined` when the body is not a JSON object (gateway HTML, empty). */
export function parseErrorBody(body: unknown): HubSpotErrorBody | undefined {
  const parsed = HubSpotErrorBodySchema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Parses a property list; entries that are not objects are skipped rather than failing the list.
 * `undefined` when the body has no `results` array.
 */
export function parsePropertiesList(body: unknown): PropertyEntry[] | undefined {
  const parsed = PropertiesListSchema.safeParse(body);
  if (!parsed.success) return undefined;
  return parsed.data.results.flatMap((entry) => {
    const one = PropertySchema.safeParse(entry);
    return one.success ? [one.data] : [];
  });
}

/** The strings a context key holds, whatever shape HubSpot used for it. */
export function contextStrings(context: ErrorContext | undefined, key: string): string[] {
  if (!context) return [];
  const parsed = stringList.safeParse(context[key]);
  return parsed.success ? (parsed.data ?? []) : [];
}

/** Header values as Node and axios expose them: lower-case names, occasionally repeated as an array. */
export type HeaderBag = Readonly<Record<string, unknown>>;

/** The first value of a header, or `undefined`; names are matched case-insensitively. */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const raw = headers[name.toLowerCase()] ?? headers[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (typeof first === 'string') return first;
  if (typeof first === 'number') return String(first);
  return undefined;
}

function nonNegativeInt(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d{1,15}$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

const RATE_LIMIT_HEADERS = {
  max: 'x-hubspot-ratelimit-max',
  remaining: 'x-hubspot-ratelimit-remaining',
  intervalMs: 'x-hubspot-ratelimit-interval-milliseconds',
  daily: 'x-hubspot-ratelimit-daily',
  dailyRemaining: 'x-hubspot-ratelimit-daily-remaining',
  secondly: 'x-hubspot-ratelimit-secondly',
  secondlyRemaining: 'x-hubspot-ratelimit-secondly-remaining',
} as const satisfies Record<keyof RateLimitSnapshot, string>;

/**
 * The values each rate-limit header may take to be believed. HubSpot's windows are 1 s (SECONDLY) or 10 s, its
 * limits per window a few hundred at most (with capacity packs), its daily limits up to a few million. A value
 * outside these bounds is a proxy's or a bug's, not a limit: one absurd Interval (a day) would otherwise stretch
 * the window the limiter paces over and stall the account for minutes. Bounds are inclusive.
 */
export const RATE_LIMIT_HEADER_RANGES = {
  /** Calls per window. */
  max: { min: 1, max: 100_000 },
  remaining: { min: 0, max: 100_000 },
  /** The window: 100 ms to a minute. */
  intervalMs: { min: 100, max: 60_000 },
  /** Calls per day. */
  daily: { min: 1, max: 100_000_000 },
  dailyRemaining: { min: 0, max: 100_000_000 },
  /** Calls per tenth of the window (older keys' SECONDLY policy). */
  secondly: { min: 1, max: 10_000 },
  secondlyRemaining: { min: 0, max: 10_000 },
} as const satisfies Record<keyof RateLimitSnapshot, { min: number; max: number }>;

/**
 * Reads HubSpot's rate-limit headers; a missing or unparsable header, or one outside
 * {@link RATE_LIMIT_HEADER_RANGES}, is simply absent from the snapshot.
 */
export function parseRateLimitHeaders(headers: HeaderBag): RateLimitSnapshot {
  const snapshot: RateLimitSnapshot = {};
  for (const [field, header] of Object.entries(RATE_LIMIT_HEADERS) as Array<
    [keyof RateLimitSnapshot, string]
  >) {
    const value = nonNegativeInt(headerValue(headers, header));
    const range = RATE_LIMIT_HEADER_RANGES[field];
    if (value !== undefined && value >= range.min && value <= range.max) snapshot[field] = value;
  }
  return snapshot;
}

/**
 * `Retry-After` in milliseconds: delay-seconds (fractions tolerated) or an HTTP date, measured from `nowMs`.
 * A date in the past gives 0; anything unparsable gives `undefined`.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // Only date-looking text: Date.parse accepts bare numbers like "-5", which are not valid Retry-After values.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

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
