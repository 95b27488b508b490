import { ConfigSchema } from '../../src/config.js';

/**
 * Upper-case names operator-facing text uses that are not the worker's variables: error categories and codes
 * the queue reports, the settings of the other containers docker-compose.yml runs, build arguments, placeholders.
 */
const OTHER_NAMES = new Set([
  'EXPIRED_AUTHENTICATION',
  'LEASE_EXPIRED',
  'MISSING_SCOPES',
  'OBJECT_NOT_FOUND',
  'OBLITERATE_REFUSED',
  'PAYLOAD_TOO_LARGE',
  'SHARD_COUNT_MISMATCH',
  'TRACE_ID_CONFLICT',
  'UNEXPECTED_RESPONSE',
  'VALIDATION_ERROR',
  'GRAFANA_ADMIN_USER',
  'GRAFANA_ADMIN_PASSWORD',
  'GRAFANA_PORT',
  'PROMETHEUS_PORT',
  'NODE_ENV',
  'NODE_IMAGE',
  'REPLACE_ME',
]);
/** Grafana's own settings (`GF_SECURITY_ADMIN_USER`, ...). */
const OTHER_PREFIXES = ['GF_'];

/** The environment variables the worker reads. */
export const CONFIG_VARIABLES: ReadonlySet<string> = new Set(Object.keys(ConfigSchema.shape));

/** Every name shaped like an environment variable (`WORD_WORD`) in `text`, in order. */
export function envNamesIn(text: string): string[] {
  return [...text.matchAll(/(?<![A-Za-z0-9_])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![A-Za-z0-9_])/g)].map(
    (m) => m[0],
  );
}

/** The names in `text`, once each, that are neither a schema variable nor known to be something else. */
export function unknownEnvNames(text: string): string[] {
  const unknown = envNamesIn(text).filter(
    (name) =>
      !CONFIG_VARIABLES.has(name) &&
      !OTHER_NAMES.has(name) &&
      !OTHER_PREFIXES.some((p) => name.startsWith(p)),
  );
  return [...new Set(unknown)];
}
