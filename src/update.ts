import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * Names that become part of Redis keys (account, objectType, idProperty) may not contain `|`, `:`, whitespace
 * or control characters: `|` separates the parts of an object key and BullMQ forbids `:` in job ids.
 */
const NAME = /^[A-Za-z0-9_.@~+=/-]+$/;
/** Trace ids become BullMQ job ids (`t-<id>`), which may not contain `:`. */
const TRACE_ID = /^[^\s:|]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to reject control characters
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

/** A property value as a producer hands it to us; HubSpot receives it as a string. */
export const PropertyValueSchema = z.union([z.string(), z.number().finite(), z.boolean(), z.null()]);

/**
 * One update request: the public contract of the producer API, the CLI and the queue's wire format.
 * Parsed with zod in the producer and again in the worker, because jobs may come from other languages.
 */
export const UpdateRequestSchema = z
  .object({
    objectType: z
      .string()
      .min(1, 'must not be empty')
      .max(100)
      .regex(NAME, 'must be an object type name such as "contacts" or an id such as "2-12345"'),
    id: z
      .string()
      .min(1, 'must not be empty')
      .max(512)
      .regex(NO_CONTROL, 'must not contain control characters'),
    properties: z
      .record(z.string().min(1, 'property names must not be empty').max(256), PropertyValueSchema)
      .refine((p) => Object.keys(p).length > 0, 'must name at least one property'),
    idProperty: z.string().min(1).max(256).regex(NAME, 'must be a property name').optional(),
    objectWriteTraceId: z
      .string()
      .min(1)
      .max(128)
      .regex(TRACE_ID, 'must not contain whitespace, ":" or "|"')
      .optional(),
    account: z.string().min(1).max(100).regex(NAME, 'must be an account name').optional(),
  })
  .strict();

export type PropertyValue = z.infer<typeof PropertyValueSchema>;
/** An update request as producers submit it. */
export type UpdateRequest = z.infer<typeof UpdateRequestSchema>;
/** An update request after defaults: trace id and account are always present. */
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
export function parseUpdate(input: unknown): { ok: true; update: Update } | { ok: false; issues: string[] } {
  const parsed = UpdateRequestSchema.safeParse(input);
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

/** The BullMQ job id of an update: stable, so enqueueing the same trace id twice is one job. */
export function jobIdFor(objectWriteTraceId: string): string {
  return `t-${objectWriteTraceId}`;
}

/** HubSpot takes every property value as a string; null clears the property. */
export function toHubSpotValue(value: PropertyValue): string {
  if (value === null) return '';
  return String(value);
}
