import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * Account names become part of Redis keys: no `|`, `:`, whitespace or control characters (`|` separates the
 * parts of an object key and BullMQ forbids `:` in job ids).
 */
const NAME = /^[A-Za-z0-9_.@~+=/-]+$/;
/**
 * HubSpot object types are a name (`contacts`, `p_cars`, `p12345_cars`) or an object type id (`0-1`,
 * `2-12345`). Nothing else: the type is a path segment of the call, and `..` would be normalised away by the URL,
 * sending the batch (and its token) to another endpoint.
 */
const OBJECT_TYPE = /^(?:[A-Za-z][A-Za-z0-9_]*|\d+-\d+)$/;
/** HubSpot property names: a letter, then letters, digits or underscores. */
const PROPERTY_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Trace ids become BullMQ job ids (`t-<id>`), which may not contain `:`. */
const TRACE_ID = /^[^\s:|]+$/;
/**
 * The lanes an update may travel in. `interactive` is for a person's action: it goes out in its account's next
 * call that can take it, ahead of the account's `bulk` work (the default), which keeps the rest of the budget.
 */
export const PRIORITIES = ['interactive', 'bulk'] as const;
export type Priority = (typeof PRIORITIES)[number];

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to reject control characters
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

/** How large one update may be. Both are configurable; the defaults follow HubSpot. */
export interface UpdateLimits {
  /** Longest property value, in UTF-16 code units (HubSpot's limit for text properties: 65,536). */
  maxValueLength: number;
  /** Most properties one update may set. */
  maxProperties: number;
}

export const DEFAULT_UPDATE_LIMITS: Readonly<UpdateLimits> = { maxValueLength: 65_536, maxProperties: 1_000 };

/** The message of every string that holds an unpaired surrogate (it cannot be sent as UTF-8). */
export const NOT_WELL_FORMED = 'must be well-formed Unicode (it holds an unpaired surrogate)';

/** `String.prototype.isWellFormed` (ES2024; Node 20 has it, the project's `lib` does not declare it yet). */
export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function propertyNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 256) return 'must be at most 256 characters long';
  if (!isWellFormed(name)) return NOT_WELL_FORMED;
  // HubSpot's internal names; this also refuses `__proto__`, which a parsed object would silently drop.
  if (!PROPERTY_NAME.test(name)) return 'must be a property name (a letter, then letters, digits or "_")';
  return undefined;
}

const text = () => z.string().refine(isWellFormed, NOT_WELL_FORMED);

function buildSchema(limits: UpdateLimits) {
  const value = z.union([
    text().max(limits.maxValueLength, `must be at most ${limits.maxValueLength} characters long`),
    z.number().finite(),
    z.boolean(),
    z.null(),
  ]);
  const properties = z
    .unknown()
    // Names are checked on the object as given, before any value is looked at (a record parsed by zod would
    // have lost `__proto__` already), and a huge update costs one issue, not one per property.
    .superRefine((p, ctx) => {
      if (typeof p !== 'object' || p === null || Array.isArray(p)) return;
      const names = Object.keys(p);
      if (names.length > limits.maxProperties) {
        const message = `must name at most ${limits.maxProperties} properties (names ${names.length})`;
        ctx.addIssue({ code: 'custom', message });
        return;
      }
      for (const name of names) {
        const problem = propertyNameProblem(name);
        // JSON quoting shows an unpaired surrogate as its escape rather than as a broken character.
        if (problem)
          ctx.addIssue({ code: 'custom', message: `property name ${JSON.stringify(name)} ${problem}` });
      }
    })
    .pipe(
      z.record(z.string(), value).refine((p) => Object.keys(p).length > 0, 'must name at least one property'),
    );
  return z
    .object({
      objectType: z
        .string()
        .min(1, 'must not be empty')
        .max(100)
        .regex(
          OBJECT_TYPE,
          'must be an object type name such as "contacts" or "p_cars", or an object type id such as "0-1" or "2-12345"',
        ),
      id: text()
        .min(1, 'must not be empty')
        .max(512)
        .regex(NO_CONTROL, 'must not contain control characters'),
      properties,
      idProperty: z
        .string()
        .min(1)
        .max(256)
        .regex(PROPERTY_NAME, 'must be a property name (a letter, then letters, digits or "_")')
        .optional(),
      objectWriteTraceId: text()
        .min(1)
        .max(128)
        .regex(TRACE_ID, 'must not contain whitespace, ":" or "|"')
        .optional(),
      account: z.string().min(1).max(100).regex(NAME, 'must be an account name').optional(),
      priority: z.enum(PRIORITIES, { error: 'must be "interactive" or "bulk"' }).optional(),
    })
    .strict();
}

const schemas = new Map<string, ReturnType<typeof buildSchema>>();

/** The update schema under the given limits (missing ones take their default); built once per set of limits. */
export function updateSchema(limits: Partial<UpdateLimits> = {}): ReturnType<typeof buildSchema> {
  const full: UpdateLimits = {
    maxValueLength: limits.maxValueLength ?? DEFAULT_UPDATE_LIMITS.maxValueLength,
    maxProperties: limits.maxProperties ?? DEFAULT_UPDATE_LIMITS.maxProperties,
  };
  const key = `${full.maxValueLength}/${full.maxProperties}`;
  let schema = schemas.get(key);
  if (!schema) {
    schema = buildSchema(full);
    schemas.set(key, schema);
  }
  return schema;
}

/** A property value as a producer hands it to us; HubSpot receives it as a string. */
export const PropertyValueSchema = z.union([z.string(), z.number().finite(), z.boolean(), z.null()]);

/**
 * One update request under the default limits: the public contract of the producer API, the CLI and the queue's
 * wire format. Parsed with zod in the producer and again in the worker, because jobs may come from other languages.
 */
export const UpdateRequestSchema = updateSchema();

export type PropertyValue = z.infer<typeof PropertyValueSchema>;
/** An update request as producers submit it. */
export type UpdateRequest = z.infer<typeof UpdateRequestSchema>;
/**
 * An update request after defaults: trace id and account are always present. `priority` is absent for the
 * default lane (`bulk`) or as given.
 */
export type Update = Omit<UpdateRequest, 'objectWriteTraceId' | 'account'> & {
  objectWriteTraceId: string;
  account: string;
};

/** The account used when an update names none. */
export const DEFAULT_ACCOUNT = 'default';

/** A validation failure naming each problem by its path, e.g. `properties.amount: Invalid input`. */
export class UpdateValidationError extends Error {
  readonly code = 'VALIDATION_ERROR';
  constructor(readonly issues: string[]) {
    super(issues.join('; '));
    this.name = 'UpdateValidationError';
  }
}

/** Formats zod issues as `path: message` strings, the form every error message of the project uses. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

/** Parses untrusted input into an {@link Update}, filling defaults. */
export function parseUpdate(
  input: unknown,
  limits: Partial<UpdateLimits> = {},
): { ok: true; update: Update } | { ok: false; issues: string[] } {
  const parsed = updateSchema(limits).safeParse(input);
  if (!parsed.success) return { ok: false, issues: describeIssues(parsed.error) };
  const { objectWriteTraceId, account, ...rest } = parsed.data;
  return {
    ok: true,
    update: {
      ...rest,
      objectWriteTraceId: objectWriteTraceId ?? randomUUID(),
      account: account ?? DEFAULT_ACCOUNT,
    },
  };
}

export { jobIdFor } from './keys.js';

/** HubSpot takes every property value as a string; null clears the property. */
export function toHubSpotValue(value: PropertyValue): string {
  if (value === null) return '';
  if (typeof value === 'number') return plainDecimal(value);
  return String(value);
}

/**
 * A number in plain decimal notation, exactly: JavaScript writes 1e21 and 1e-7 in exponent form, which HubSpot
 * refuses for number properties. The digits are those of the shortest round-trip form, with the point moved.
 */
export function plainDecimal(value: number): string {
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([-+]\d+)$/.exec(text);
  if (!match) return text;
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const digits = whole + fraction;
  const point = whole.length + Number(exponentText);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * The job data the producer writes: the update as JSON with its fields in a fixed order and its properties
 * sorted by name, so two requests for the same update give the same text (and the same fingerprint).
 */
export function canonicalJobData(update: Update): string {
  const names = Object.keys(update.properties).sort();
  return JSON.stringify({
    objectType: update.objectType,
    id: update.id,
    ...(update.idProperty !== undefined ? { idProperty: update.idProperty } : {}),
    // fromEntries defines own properties, so a property named `__proto__` stays a property.
    properties: Object.fromEntries(names.map((n) => [n, update.properties[n]])),
    objectWriteTraceId: update.objectWriteTraceId,
    account: update.account,
    // The default lane is left out, so `"priority": "bulk"` and no priority are the same update.
    ...(update.priority === 'interactive' ? { priority: update.priority } : {}),
  });
}

/** Whether an update travels in the interactive lane. */
export function isInteractive(update: Pick<UpdateRequest, 'priority'>): boolean {
  return update.priority === 'interactive';
}

/** Limits never bind when comparing stored jobs: a job is the same update or not whatever its size. */
const UNLIMITED: UpdateLimits = {
  maxValueLength: Number.MAX_SAFE_INTEGER,
  maxProperties: Number.MAX_SAFE_INTEGER,
};

/**
 * The canonical form of stored job data (which other BullMQ clients may have written in any field order), or
 * undefined when it is not an update. `traceId` is the job's trace id, for data that names none.
 */
export function canonicalOfJobData(data: string, traceId: string): string | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return undefined;
  }
  const parsed = parseUpdate(raw, UNLIMITED);
  if (!parsed.ok) return undefined;
  return canonicalJobData({ ...parsed.update, objectWriteTraceId: traceId });
}

/** First 16 hex digits of the SHA-1 of a text (UTF-8), as Lua's `redis.sha1hex` computes it. */
export function fingerprint(textToHash: string): string {
  return createHash('sha1').update(textToHash).digest('hex').slice(0, 16);
}

/**
 * The fingerprint outcome records keep of the update they describe: of its canonical form, or of the raw data
 * when it is not an update. A finished update's job is deleted, so reusing its trace id is checked against this.
 */
export function fingerprintOfJobData(data: string | null, traceId: string): string {
  if (data === null) return fingerprint('');
  return fingerprint(canonicalOfJobData(data, traceId) ?? data);
}
