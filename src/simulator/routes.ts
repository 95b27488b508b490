/** The HubSpot API routes the simulator serves, and how their paths are matched. */

/** A HubSpot API route the simulator serves. */
export type ApiRoute = { kind: 'batchUpdate' | 'batchRead' | 'properties'; objectType: string };

/**
 * The version segment of a path: a date version (`2026-03`, `2026-09`, any well-formed `YYYY-MM`) after the
 * group, or the older `v3` before it. A malformed version is an unknown route (404), as on HubSpot.
 */
const DATE_VERSION = '\\d{4}-(?:0[1-9]|1[0-2])';
const versioned = (group: string, tail: string): RegExp =>
  new RegExp(`^/crm/(?:${group}/${DATE_VERSION}|v3/${group})/([^/]+)${tail}/?$`);

const BATCH_UPDATE = versioned('objects', '/batch/update');
const BATCH_READ = versioned('objects', '/batch/read');
const PROPERTIES = versioned('properties', '');

/** Matches the date-versioned and the v3 paths of every endpoint. */
export function matchApiRoute(method: string, path: string): ApiRoute | undefined {
  const objectType = (match: RegExpExecArray | null): string | undefined =>
    match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
  if (method === 'POST') {
    const update = objectType(BATCH_UPDATE.exec(path));
    if (update !== undefined) return { kind: 'batchUpdate', objectType: update };
    const read = objectType(BATCH_READ.exec(path));
    if (read !== undefined) return { kind: 'batchRead', objectType: read };
  }
  const props = method === 'GET' ? objectType(PROPERTIES.exec(path)) : undefined;
  return props === undefined ? undefined : { kind: 'properties', objectType: props };
}
