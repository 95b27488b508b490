import { normalizeAddress } from '../keys.js';
import { classifyBatchAnswer } from './classify.js';
import type { HubSpotAnswer } from './port.js';
import { BatchStatus, contextStrings, parseBatchResponse } from './responses.js';
import type { BatchVerdict, VerdictError } from './verdict.js';

/** HubSpot's read-only list (`;`-separated) of a contact's emails besides `email`, e.g. those of merged contacts. */
export const ADDITIONAL_EMAILS = 'hs_additional_emails';

/** What one batch/read by a unique property says about the values asked for. */
export type ReadVerdict =
  | {
      kind: 'read';
      /** Per value asked for (as given), the record id that has it. */
      found: Map<string, string>;
      /** Values HubSpot says no record has (OBJECT_NOT_FOUND). */
      missing: string[];
      /** Values the answer says nothing about: asked again later. */
      unknown: string[];
    }
  /** HubSpot refused the read itself (the property is not unique, say): the values cannot be resolved. */
  | { kind: 'refused'; error: VerdictError }
  /** Anything else (429, 401, 5xx, a timeout...): as for a batch update; the values are asked again. */
  | Exclude<BatchVerdict, { kind: 'settled' | 'rejected' | 'failAll' | 'tooLarge' }>;

/**
 * Maps HubSpot's answer to `batch/read` by `idProperty` for `values` to what each value names. Results are matched
 * by the property's value they carry (HubSpot does not echo inputs in order), compared as `normalizeAddress` does;
 * a 207's OBJECT_NOT_FOUND errors name the missing values in `context.ids`. Pure.
 */
export function classifyReadAnswer(
  idProperty: string,
  values: readonly string[],
  answer: HubSpotAnswer,
): ReadVerdict {
  const byNormal = new Map(values.map((v) => [normalizeAddress(idProperty, v), v]));
  if (answer.kind === 'http' && answer.status >= 200 && answer.status < 300) {
    const body = parseBatchResponse(answer.body);
    if (body && (body.status === undefined || body.status === BatchStatus.complete)) {
      const found = new Map<string, string>();
      for (const r of body.results ?? []) {
        if (r.id === undefined) continue;
        // The record may have been found by one of its other emails (a merged contact's): those count too.
        const extra = idProperty === 'email' ? r.properties?.[ADDITIONAL_EMAILS] : undefined;
        const values = [r.properties?.[idProperty], ...(typeof extra === 'string' ? extra.split(';') : [])];
        for (const value of values) {
          const asked =
            typeof value === 'string' ? byNormal.get(normalizeAddress(idProperty, value.trim())) : undefined;
          if (asked !== undefined) found.set(asked, r.id);
        }
      }
      const missing = new Set<string>();
      for (const e of body.errors ?? []) {
        if (e.category !== 'OBJECT_NOT_FOUND') continue;
        for (const id of contextStrings(e.context, 'ids')) {
          const asked = byNormal.get(normalizeAddress(idProperty, id));
          if (asked !== undefined && !found.has(asked)) missing.add(asked);
        }
      }
      const unknown = values.filter((v) => !found.has(v) && !missing.has(v));
      return { kind: 'read', found, missing: [...missing], unknown };
    }
  }
  const verdict = classifyBatchAnswer([], answer);
  switch (verdict.kind) {
    case 'rejected':
    case 'failAll':
      return { kind: 'refused', error: verdict.error };
    case 'settled':
      // A 2xx that is not a complete read: nothing can be concluded, so it is asked again.
      return {
        kind: 'retry',
        reason: 'unexpected_response',
        error: { category: 'UNEXPECTED_RESPONSE', message: 'batch/read answered without a usable body' },
      };
    case 'tooLarge':
      return { kind: 'retry', reason: 'unexpected_response', error: verdict.error };
    default:
      return verdict;
  }
}
