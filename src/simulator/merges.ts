import type { SchemaRegistry } from './schema.js';
import type { ObjectStore } from './store.js';
import type { SimObject } from './types.js';

/** A merge that cannot be made: unknown type or record, or a record merged into itself. */
export class MergeError extends Error {}

/**
 * Merges two records as HubSpot merges contacts: the loser's id stops naming anything (updates and reads of it
 * answer OBJECT_NOT_FOUND), the winner keeps its id and its properties, and the loser's emails (its own and any
 * it had gained from earlier merges) become extra emails of the winner, so looking them up finds the winner.
 * The loser's other unique values are freed. Returns the winner as it is after the merge.
 * @throws MergeError when the type or either record is unknown, or both ids are the same.
 */
export function mergeRecords(
  store: ObjectStore,
  schemas: SchemaRegistry,
  objectType: string,
  loserId: string,
  winnerId: string,
): SimObject {
  const resolved = schemas.resolve(objectType);
  if (!resolved) throw new MergeError(`unknown object type ${objectType}`);
  if (loserId === winnerId) throw new MergeError(`cannot merge ${objectType} ${loserId} into itself`);
  if (!store.get(objectType, winnerId)) throw new MergeError(`no ${objectType} ${winnerId}`);
  const loser = store.remove(objectType, loserId);
  if (!loser) throw new MergeError(`no ${objectType} ${loserId}`);
  const emails = resolved.schema.properties.filter((p) => p.hasUniqueValue && p.format === 'email');
  for (const { name } of emails) {
    const own = loser.properties[name];
    for (const value of [...(own === undefined ? [] : [own]), ...(loser.aliases?.[name] ?? [])]) {
      store.addAlias(objectType, winnerId, name, value);
    }
  }
  const winner = store.get(objectType, winnerId);
  if (!winner) throw new MergeError(`no ${objectType} ${winnerId}`);
  return winner;
}
