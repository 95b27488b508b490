import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, envNamesIn, unknownEnvNames } from '../helpers/config-names.js';

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

describe('configuration variables named outside src/config.ts', () => {
  it('catches a variable the schema does not have, such as a renamed one', () => {
    const text =
      'RATE_LIMIT_MAX: "100"\n# Keep SHUTDOWN_TIMEOUT below 60 s; LEASE_MS=5000 QUEUE_NAME_OLD=x\n';
    expect(unknownEnvNames(text)).toEqual(['SHUTDOWN_TIMEOUT', 'QUEUE_NAME_OLD']);
  });

  it.each(FILES)('%s names only variables the schema has', (path) => {
    const text = readFileSync(new URL(path, ROOT), 'utf8');
    expect(
      unknownEnvNames(text),
      `${path}: not in ConfigSchema (renamed?) nor listed as another name`,
    ).toEqual([]);
  });

  it('the deployment files set and mention real variables', () => {
    // A scan that found nothing would pass vacuously; these files do name variables.
    for (const path of ['docker-compose.yml', 'deploy/k8s/configmap.yaml', 'deploy/README.md']) {
      const named = envNamesIn(readFileSync(new URL(path, ROOT), 'utf8')).filter((name) =>
        CONFIG_VARIABLES.has(name),
      );
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
      expect(keys.filter((key) => !CONFIG_VARIABLES.has(key))).toEqual([]);
    }
  });
});
