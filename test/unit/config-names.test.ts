import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config.js';

const ROOT = new URL('../../', import.meta.url);

/** Files that tell an operator which environment variables to set. */
const FILES = [
  'README.md',
  'deploy/README.md',
  'docker-compose.yml',
  'Dockerfile',
  ...readdirSync(new URL('deploy/k8s/', ROOT))
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => `deploy/k8s/${name}`),
];

/**
 * Upper-case names in those files that are not the worker's variables: error categories and codes the queue
 * reports, the settings of the other containers docker-compose.yml runs, build arguments, placeholders.
 */
const OTHER_NAMES = new Set([
  'EXPIRED_AUTHENTICATION',
  'LEASE_EXPIRED',
  'MISSING_SCOPES',
  'OBJECT_NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'TRACE_ID_CONFLICT',
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

const VARIABLES = new Set(Object.keys(ConfigSchema.shape));

/** Every name shaped like an environment variable (`WORD_WORD`) in `text`. */
function namesIn(text: string): string[] {
  return [...text.matchAll(/(?<![A-Za-z0-9_])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![A-Za-z0-9_])/g)].map(
    (m) => m[0],
  );
}

/** The names in `text` that are neither a schema variable nor known to be something else. */
function unknownNames(text: string): string[] {
  const unknown = namesIn(text).filter(
    (name) =>
      !VARIABLES.has(name) && !OTHER_NAMES.has(name) && !OTHER_PREFIXES.some((p) => name.startsWith(p)),
  );
  return [...new Set(unknown)];
}

describe('configuration variables named outside src/config.ts', () => {
  it('catches a variable the schema does not have, such as a renamed one', () => {
    const text =
      'RATE_LIMIT_MAX: "100"\n# Keep SHUTDOWN_TIMEOUT below 60 s; LEASE_MS=5000 QUEUE_NAME_OLD=x\n';
    expect(unknownNames(text)).toEqual(['SHUTDOWN_TIMEOUT', 'QUEUE_NAME_OLD']);
  });

  it.each(FILES)('%s names only variables the schema has', (path) => {
    const text = readFileSync(new URL(path, ROOT), 'utf8');
    expect(unknownNames(text), `${path}: not in ConfigSchema (renamed?) nor listed as another name`).toEqual(
      [],
    );
  });

  it('the deployment files set and mention real variables', () => {
    // A scan that found nothing would pass vacuously; these files do name variables.
    for (const path of ['docker-compose.yml', 'deploy/k8s/configmap.yaml', 'deploy/README.md']) {
      const named = namesIn(readFileSync(new URL(path, ROOT), 'utf8')).filter((name) => VARIABLES.has(name));
      expect(named.length, path).toBeGreaterThan(0);
    }
  });

  it('every key the ConfigMap and the compose worker environment set is a schema variable', () => {
    const configMap = readFileSync(new URL('deploy/k8s/configmap.yaml', ROOT), 'utf8');
    const data = configMap.slice(configMap.indexOf('\ndata:'));
    const compose = readFileSync(new URL('docker-compose.yml', ROOT), 'utf8');
    const environment = compose.slice(
      compose.indexOf('x-worker-environment:'),
      compose.indexOf('\nservices:'),
    );
    for (const block of [data, environment]) {
      const keys = [...block.matchAll(/^ {2}([A-Za-z0-9_]+):/gm)].map((m) => m[1] ?? '');
      expect(keys.length).toBeGreaterThan(5);
      expect(keys.filter((key) => !VARIABLES.has(key))).toEqual([]);
    }
  });
});
