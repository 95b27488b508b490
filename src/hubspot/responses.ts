import { z } from 'zod';

/**
 * The bodies HubSpot sends back, parsed leniently. HubSpot's documented shapes are loose in practice (fields
 * missing, strings where arrays are documented), so every field is optional and unknown fields pass through. A
 * scalar field of an unexpected type becomes `undefined` rather than failing the whole body; a malformed `errors`
 * or `results` list does fail it, because silently dropping an error would record a failed input as a success.
 */

/** The values HubSpot's batch `status` takes; anything but `COMPLETE` means the batch did not fully apply. */
export const BatchStatus = {
  pending: 'PENDING',
  processing: 'PROCESSING',
  canceled: 'CANCELED',
  complete: 'COMPLETE',
} as const;
export type BatchStatus = (typeof BatchStatus)[keyof typeof BatchStatus];

/** A string field that becomes `undefined` when HubSpot sent something else. */
export const optionalString = z.string().optional().catch(undefined);
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
