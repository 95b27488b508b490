/**
 * Checks the deployment files: Dockerfile, docker-compose.yml, deploy/prometheus, deploy/grafana, deploy/k8s.
 *
 * Tools are used when present and the tests that need them are skipped (with the reason in their name)
 * otherwise: promtool (Debian `prometheus`), docker-compose (Debian `docker-compose`) or `docker compose`,
 * kubectl (kustomize rendering only: it needs no cluster), and python3 with PyYAML (Debian `python3-yaml`) to
 * read YAML. Kubernetes objects are checked field by field here, as no offline schema checker is available.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url);
const K8S = 'deploy/k8s';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string> = {}): Run {
  const result = spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return {
    status: result.status,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? String(result.error ?? ''),
  };
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
}

function read(path: string): string {
  return readFileSync(new URL(path, ROOT), 'utf8');
}

/**
 * `it` when the condition holds; otherwise a failing test in CI (where .ci/run installs the tools, so a lost
 * install step cannot pass as green) and a skipped test whose name says why elsewhere.
 */
function itWhen(condition: boolean, reason: string) {
  return (name: string, fn: () => void, timeout?: number) => {
    if (condition) return it(name, fn, timeout);
    if (process.env.CI === 'true') {
      return it(name, () => {
        throw new Error(`${reason}: .ci/run should have installed it`);
      });
    }
    return it.skip(`${name} (skipped: ${reason})`, fn);
  };
}

const promtool = has('promtool');
const withPromtool = itWhen(promtool, 'promtool not found; apt-get install prometheus');

const compose: string[] | undefined = has('docker-compose')
  ? ['docker-compose']
  : has('docker') && spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0
    ? ['docker', 'compose']
    : undefined;
const withCompose = itWhen(compose !== undefined, 'neither docker-compose nor docker compose found');

const kubectl = has('kubectl');
const withKubectl = itWhen(kubectl, 'kubectl not found');

const pyyaml =
  has('python3') && spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' }).status === 0;
const withYaml = itWhen(pyyaml, 'python3 with PyYAML not found; apt-get install python3-yaml');

/** The YAML documents of a file, as JSON values (via PyYAML, which also resolves anchors). */
function loadYaml(path: string): unknown[] {
  const script = 'import json,sys,yaml\nprint(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))';
  const result = run('python3', ['-c', script, path]);
  if (result.status !== 0) throw new Error(`cannot parse ${path}: ${result.stderr}`);
  return (JSON.parse(result.stdout) as unknown[]).filter((doc) => doc !== null);
}

type Obj = Record<string, unknown>;

/** Walks a dotted path through plain objects and arrays (numeric segments index arrays). */
function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Obj)[key];
  }
  return current;
}

function obj(value: unknown, what: string): Obj {
  expect(value, `${what} should be an object`).toBeTypeOf('object');
  expect(value, `${what} should be an object`).not.toBeNull();
  return value as Obj;
}

function list(value: unknown, what: string): unknown[] {
  expect(Array.isArray(value), `${what} should be a list`).toBe(true);
  return value as unknown[];
}

/** Compose/Go durations like "60s", "1m30s", "1500ms" in seconds. */
function seconds(duration: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  expect(parts.map((p) => p[0]).join(''), `duration "${duration}"`).toBe(duration);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * (units[unit ?? 's'] ?? 1), 0);
}

/** Metric names the worker registers: from src/metrics.ts, plus prom-client's default metrics under `hbq_`. */
function knownMetric(name: string): boolean {
  const source = read('src/metrics.ts');
  const prefix = /METRIC_PREFIX = '([a-z_]+)'/.exec(source)?.[1] ?? 'hbq_';
  const registered = [...source.matchAll(/name: `\$\{p\}([a-z0-9_]+)`/g)].map((m) => `${prefix}${m[1]}`);
  expect(registered.length, 'metric names found in src/metrics.ts').toBeGreaterThan(10);
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return (
    registered.includes(name) ||
    registered.includes(base) ||
    name.startsWith(`${prefix}process_`) ||
    name.startsWith(`${prefix}nodejs_`)
  );
}

function metricNamesIn(text: string): string[] {
  // `hbq_` names that are not recording rules (`hbq:...`) or parts of another word.
  return [...new Set([...text.matchAll(/(?<![\w:])hbq_[a-z0-9_]+/g)].map((m) => m[0]))];
}

// ---------------------------------------------------------------------------------------------------------

describe('deploy: Dockerfile and .dockerignore', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const lastStage = instructions.slice(instructions.map((l) => l.startsWith('FROM')).lastIndexOf(true));

  it('builds in a node:20-bookworm-slim stage and runs production dependencies only', () => {
    expect(dockerfile).toMatch(/node:20-bookworm-slim/);
    expect(instructions.filter((l) => l.startsWith('FROM')).length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/RUN npm ci\b/);
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(dockerfile).toMatch(/npm ci[^\n]*--omit=dev/);
    expect(lastStage.some((l) => /^COPY --from=\S+ .*\/app\/dist/.test(l))).toBe(true);
    expect(lastStage.some((l) => /^COPY --from=\S+ .*node_modules/.test(l))).toBe(true);
    // dist/ is ESM: package.json ("type": "module") must be next to it at run time.
    expect(lastStage.some((l) => /^COPY .*package\.json/.test(l))).toBe(true);
  });

  it('runs as a non-root user with the CLI as entrypoint and the worker as default command', () => {
    const user = lastStage.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user, 'USER in the runtime stage').toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    expect(lastStage).toContain('ENTRYPOINT ["node", "dist/bin.js"]');
    expect(lastStage).toContain('CMD ["worker"]');
    expect(lastStage).toContain('EXPOSE 9464');
    expect(lastStage).toContain('STOPSIGNAL SIGTERM');
  });

  it('has a HEALTHCHECK that asks /healthz with node and fails when nothing answers', () => {
    const line = lastStage.find((l) => l.startsWith('HEALTHCHECK'));
    expect(line).toBeDefined();
    const exec = /CMD (\[.*\])$/.exec(line ?? '')?.[1];
    const argv = JSON.parse(exec ?? 'null') as string[];
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    const script = argv[2] ?? '';
    expect(script).toMatch(/\/healthz/);
    // Port 1 on loopback refuses connections: unhealthy. METRICS_PORT=0 (no server): nothing to check.
    expect(run('node', ['-e', script], { METRICS_PORT: '1' }).status).toBe(1);
    expect(run('node', ['-e', script], { METRICS_PORT: '0' }).status).toBe(0);
  });

  it('.dockerignore keeps node_modules, dist and .env out of the context but lets the build inputs in', () => {
    const lines = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    // Last matching rule wins, as in Docker.
    const included = (path: string) => {
      let keep = true;
      for (const rule of lines) {
        const negated = rule.startsWith('!');
        const pattern = (negated ? rule.slice(1) : rule).replace(/\/$/, '');
        const regex = new RegExp(
          `^${pattern
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*\*\//g, '(.*/)?')
            .replace(/\*\*/g, '.*')
            .replace(/\*/g, '[^/]*')}(/.*)?$`,
        );
        if (regex.test(path)) keep = negated;
      }
      return keep;
    };
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(included(path), path).toBe(true);
    }
    expect(included('src/main.ts')).toBe(true);
    expect(included('scripts/copy-lua.mjs')).toBe(true);
    for (const path of [
      'node_modules/zod/index.js',
      'dist/main.js',
      '.env',
      '.git/HEAD',
      'src/node_modules/x',
    ]) {
      expect(included(path), path).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('deploy: Prometheus config and alert rules', () => {
  withPromtool('promtool check config deploy/prometheus/prometheus.yml', () => {
    const result = run('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  withPromtool('promtool check rules deploy/prometheus/alerts.yml', () => {
    const result = run('promtool', ['check', 'rules', 'deploy/prometheus/alerts.yml']);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  withPromtool('promtool test rules deploy/prometheus/alerts.test.yml', () => {
    const result = run('promtool', ['test', 'rules', 'deploy/prometheus/alerts.test.yml']);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  withYaml('has every required alert, each with a severity, a summary and a description', () => {
    const [doc] = loadYaml('deploy/prometheus/alerts.yml');
    const rules = list(at(doc, 'groups'), 'groups').flatMap((g) => list(at(g, 'rules'), 'rules')) as Obj[];
    const alerts = rules.filter((r) => typeof r.alert === 'string');
    for (const alert of alerts) {
      expect(['critical', 'warning', 'info'], `${alert.alert} severity`).toContain(
        at(alert, 'labels.severity'),
      );
      expect(at(alert, 'annotations.summary'), `${alert.alert} summary`).toBeTypeOf('string');
      expect(at(alert, 'annotations.description'), `${alert.alert} description`).toBeTypeOf('string');
    }
    const exprOf = (pattern: RegExp) => alerts.filter((a) => pattern.test(String(a.expr)));
    const forOf = (a: Obj) => seconds(String(a.for ?? '0s'));
    // backlog age, 10 minutes
    expect(exprOf(/hbq_oldest_waiting_age_seconds/).some((a) => forOf(a) === 600)).toBe(true);
    // sustained 429s, 10 minutes
    expect(exprOf(/rate\(hbq_ratelimit_429_total/).some((a) => forOf(a) === 600)).toBe(true);
    // paused accounts for 15 minutes, the daily pause separately as a warning
    const paused = exprOf(/hbq_account_paused/);
    expect(paused.some((a) => forOf(a) === 900 && /reason!~?"[^"]*daily/.test(String(a.expr)))).toBe(true);
    expect(
      paused.some((a) => /reason="daily"/.test(String(a.expr)) && at(a, 'labels.severity') === 'warning'),
    ).toBe(true);
    // failed share of terminal outcomes above 5% for 15 minutes
    const failure = exprOf(/hbq_updates_total\{status="failed"\}/);
    expect(failure.some((a) => forOf(a) === 900 && /0\.05/.test(String(a.expr)))).toBe(true);
    expect(failure.every((a) => !/retrying/.test(String(a.expr)))).toBe(true);
    // worker down, no workers at all
    expect(exprOf(/up\{job="hbq-worker"\} == 0/).length).toBe(1);
    expect(exprOf(/absent\(up\{job="hbq-worker"\}/).length).toBe(1);
    // growing queue
    expect(exprOf(/deriv\(/).length).toBeGreaterThanOrEqual(1);
    // HubSpot error answers over 5% of calls
    expect(exprOf(/hbq_hubspot_calls_total\{status=~"\[45\]/).some((a) => /0\.05/.test(String(a.expr)))).toBe(
      true,
    );
  });

  it('uses only metric names the worker exports', () => {
    const text = [read('deploy/prometheus/alerts.yml'), read(`${K8S}/prometheus-adapter-rules.yaml`)].join(
      '\n',
    );
    const names = metricNamesIn(text);
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !knownMetric(n))).toEqual([]);
  });

  withYaml('scrapes each worker replica through DNS service discovery as job hbq-worker', () => {
    const [config] = loadYaml('deploy/prometheus/prometheus.yml');
    const jobs = list(at(config, 'scrape_configs'), 'scrape_configs') as Obj[];
    const worker = jobs.find((j) => j.job_name === 'hbq-worker');
    expect(worker).toBeDefined();
    const dns = list(at(worker, 'dns_sd_configs'), 'dns_sd_configs') as Obj[];
    expect(
      dns.some((d) => d.type === 'A' && d.port === 9464 && list(d.names, 'names').includes('worker')),
    ).toBe(true);
    expect(list(at(config, 'rule_files'), 'rule_files')).toContain('alerts.yml');
  });
});

// ---------------------------------------------------------------------------------------------------------

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid?: string };
  targets?: { expr: string }[];
}

describe('deploy: Grafana dashboard and provisioning', () => {
  const dashboard = JSON.parse(read('deploy/grafana/dashboard.json')) as {
    schemaVersion: number;
    uid: string;
    panels: Panel[];
    templating: { list: { name: string }[] };
    annotations: { list: { expr?: string }[] };
  };
  const exprs = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...dashboard.annotations.list.flatMap((a) => (a.expr ? [a.expr] : [])),
  ];

  it('is a Grafana dashboard with unique panel ids, no overlapping panels and a datasource variable', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toBe('hubspot-batch-queue');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps another panel`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
      if (p.type !== 'row') expect(p.datasource?.uid, p.title).toBe('${datasource}');
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(
      expect.arrayContaining(['datasource', 'job', 'account']),
    );
  });

  it('has the required panels', () => {
    const panel = (title: RegExp) => dashboard.panels.find((p) => title.test(p.title));
    const query = (title: RegExp) => (panel(title)?.targets ?? []).map((t) => t.expr).join('\n');
    expect(query(/^Updates\/s by status/)).toMatch(/hbq_updates_total/);
    expect(query(/^HubSpot calls\/s by status/)).toMatch(/hbq_hubspot_calls_total/);
    expect(query(/^Batch size/)).toMatch(/histogram_quantile\(0\.5,.*hbq_batch_size_bucket/);
    expect(query(/^Batch size/)).toMatch(/histogram_quantile\(0\.95,.*hbq_batch_size_bucket/);
    expect(query(/call latency/)).toMatch(
      /histogram_quantile\(0\.5,.*hbq_hubspot_call_duration_seconds_bucket/,
    );
    expect(query(/call latency/)).toMatch(
      /histogram_quantile\(0\.99,.*hbq_hubspot_call_duration_seconds_bucket/,
    );
    expect(query(/^Queue depth by state/)).toMatch(/hbq_queue_depth/);
    expect(exprs.join('\n')).toMatch(/hbq_oldest_waiting_age_seconds/);
    expect(query(/^Rate-limit remaining/)).toMatch(/hbq_ratelimit_remaining/);
    expect(query(/429/)).toMatch(/hbq_ratelimit_429_total/);
    expect(dashboard.panels.filter((p) => /^Paused accounts/.test(p.title)).length).toBeGreaterThanOrEqual(1);
    expect(exprs.join('\n')).toMatch(/hbq_account_paused/);
    expect(query(/^Waiting for budget/)).toMatch(/hbq_ratelimit_wait_seconds_total/);
  });

  it('queries only metric names the worker exports', () => {
    expect(metricNamesIn(exprs.join('\n')).filter((n) => !knownMetric(n))).toEqual([]);
  });

  withPromtool('every dashboard query is valid PromQL (promtool check rules)', () => {
    const rules = exprs.map((expr, i) => ({
      record: `dashboard:query_${i}`,
      expr: expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$account', '.*'),
    }));
    const dir = mkdtempSync(`${process.env.TMPDIR ?? '/tmp'}/hbq-dashboard-`);
    try {
      // JSON is YAML.
      const file = `${dir}/rules.yml`;
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
      const result = run('promtool', ['check', 'rules', file]);
      expect(result.status, result.stdout + result.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  withYaml('provisions the Prometheus datasource and the dashboard folder that compose mounts', () => {
    const [datasources] = loadYaml('deploy/grafana/provisioning/datasources/prometheus.yml');
    const prom = (list(at(datasources, 'datasources'), 'datasources') as Obj[]).find(
      (d) => d.type === 'prometheus',
    );
    expect(prom?.url).toBe('http://prometheus:9090');
    const providerFiles = readdirSync(new URL('deploy/grafana/provisioning/dashboards/', ROOT));
    const paths = providerFiles.flatMap((f) =>
      (
        list(
          at(loadYaml(`deploy/grafana/provisioning/dashboards/${f}`)[0], 'providers'),
          'providers',
        ) as Obj[]
      ).map((p) => String(at(p, 'options.path'))),
    );
    const [composeFile] = loadYaml('docker-compose.yml');
    const volumes = list(at(composeFile, 'services.grafana.volumes'), 'grafana volumes').map(String);
    const mounted = volumes.find((v) => v.startsWith('./deploy/grafana/dashboard.json:'));
    expect(mounted).toBeDefined();
    const target = mounted?.split(':')[1] ?? '';
    expect(paths.some((p) => target.startsWith(`${p}/`))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('deploy: docker-compose.yml', () => {
  const profileSets = [[], ['demo'], ['monitoring'], ['demo', 'monitoring']];
  for (const profiles of profileSets) {
    const args = profiles.flatMap((p) => ['--profile', p]);
    withCompose(
      `compose ${args.join(' ') || '(default profile)'} config -q`,
      () => {
        const [command, ...pre] = compose ?? [];
        const result = run(command ?? 'docker-compose', [...pre, ...args, 'config', '-q']);
        expect(result.status, result.stdout + result.stderr).toBe(0);
      },
      60_000,
    );
  }

  withYaml(
    'runs durable Redis, scalable workers, Prometheus by default, simulator and Grafana on request',
    () => {
      const [doc] = loadYaml('docker-compose.yml');
      const services = obj(at(doc, 'services'), 'services');

      const redis = obj(services.redis, 'redis');
      expect(redis.image).toBe('redis:7-alpine');
      const redisCommand = list(redis.command, 'redis command').map(String).join(' ');
      expect(redisCommand).toMatch(/--appendonly yes/);
      expect(redisCommand).toMatch(/--appendfsync everysec/);
      expect(redisCommand).toMatch(/--maxmemory-policy noeviction/);
      expect(list(at(redis, 'healthcheck.test'), 'redis healthcheck').join(' ')).toMatch(/redis-cli ping/);
      expect(
        list(redis.volumes, 'redis volumes')
          .map(String)
          .some((v) => v.endsWith(':/data')),
      ).toBe(true);

      const worker = obj(services.worker, 'worker');
      expect(worker.build).toBeDefined();
      expect(at(worker, 'deploy.replicas')).toBe(2);
      // Scaling needs no fixed container name and no published host port.
      expect(worker.container_name).toBeUndefined();
      expect(worker.ports).toBeUndefined();
      expect(at(worker, 'depends_on.redis.condition')).toBe('service_healthy');
      const env = obj(worker.environment, 'worker environment');
      const shutdownMs = Number(/(\d+)\}?$/.exec(String(env.SHUTDOWN_TIMEOUT_MS))?.[1]);
      expect(seconds(String(worker.stop_grace_period))).toBeGreaterThan(shutdownMs / 1000);
      expect(env.REDIS_URL).toBe('redis://redis:6379');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's interpolation syntax, not a JS template
      expect(env.HUBSPOT_ACCESS_TOKEN).toBe('${HUBSPOT_ACCESS_TOKEN:-}');
      expect(env.METRICS_PORT).toBe('9464');
      for (const name of [
        'QUEUE_NAME',
        'HUBSPOT_ACCOUNTS',
        'HUBSPOT_BASE_URL',
        'RATE_LIMIT_MAX',
        'LOG_LEVEL',
      ]) {
        expect(env[name], name).toBeDefined();
      }

      const simulator = obj(services.simulator, 'simulator');
      expect(simulator.profiles).toEqual(['demo']);
      expect(simulator.image).toBe(worker.image);
      const simCommand = list(simulator.command, 'simulator command').map(String);
      expect(simCommand.slice(0, 3)).toEqual(['simulator', '--port', '8089']);

      const prometheus = obj(services.prometheus, 'prometheus');
      expect(prometheus.profiles).toBeUndefined();
      expect(String(prometheus.image)).toMatch(/^prom\/prometheus/);
      expect(list(prometheus.volumes, 'prometheus volumes').map(String)).toContain(
        './deploy/prometheus:/etc/prometheus:ro',
      );

      const grafana = obj(services.grafana, 'grafana');
      expect(grafana.profiles).toEqual(['monitoring']);
      expect(String(grafana.image)).toMatch(/^grafana\/grafana/);
    },
  );

  it('hard-codes no HubSpot token', () => {
    const text = read('docker-compose.yml');
    expect(text).not.toMatch(/pat-[a-z]{2}\d-[0-9a-f-]{8,}/);
    expect(text).toMatch(/HUBSPOT_BASE_URL=http:\/\/simulator:8089/);
  });
});

// ---------------------------------------------------------------------------------------------------------

interface K8sObject extends Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
}

describe('deploy: Kubernetes manifests', () => {
  const files = existsSync(new URL(`${K8S}/`, ROOT))
    ? readdirSync(new URL(`${K8S}/`, ROOT)).filter((f) => f.endsWith('.yaml'))
    : [];

  /** The kinds the worker manifests define, sorted. */
  const WORKER_KINDS = [
    'ConfigMap',
    'Deployment',
    'HorizontalPodAutoscaler',
    'PodDisruptionBudget',
    'Secret',
    'Service',
  ].sort();

  let cached: Map<string, K8sObject> | undefined;
  /** The objects kustomization.yaml lists, by kind. */
  function objects(): Map<string, K8sObject> {
    if (cached) return cached;
    const byKind = new Map<string, K8sObject>();
    const [kustomization] = loadYaml(`${K8S}/kustomization.yaml`);
    for (const file of list(at(kustomization, 'resources'), 'kustomization resources').map(String)) {
      for (const doc of loadYaml(`${K8S}/${file}`) as K8sObject[]) byKind.set(doc.kind, doc);
    }
    cached = byKind;
    return byKind;
  }

  withYaml('every manifest parses and none pins a namespace', () => {
    expect(files).toEqual(expect.arrayContaining(['kustomization.yaml', 'deployment.yaml', 'hpa.yaml']));
    for (const file of files) {
      for (const doc of loadYaml(`${K8S}/${file}`) as K8sObject[]) {
        expect(doc.kind, file).toBeTypeOf('string');
        expect(doc.metadata?.namespace, `${file} ${doc.kind}`).toBeUndefined();
      }
    }
  });

  withYaml('kustomization lists the worker manifests and leaves CRD- and adapter-bound files out', () => {
    const [kustomization] = loadYaml(`${K8S}/kustomization.yaml`);
    const resources = list(at(kustomization, 'resources'), 'resources').map(String);
    for (const file of resources) expect(existsSync(new URL(`${K8S}/${file}`, ROOT)), file).toBe(true);
    expect([...objects().keys()].sort()).toEqual(WORKER_KINDS);
    expect(resources).not.toContain('servicemonitor.yaml');
    expect(resources).not.toContain('prometheus-adapter-rules.yaml');
    expect(at(kustomization, 'namespace')).toBeUndefined();
  });

  withYaml(
    'the worker Deployment has probes, graceful termination, resources and a locked-down context',
    () => {
      const all = objects();
      const deployment = all.get('Deployment');
      expect(deployment?.apiVersion).toBe('apps/v1');
      const spec = obj(at(deployment, 'spec.template.spec'), 'pod spec');
      expect(at(deployment, 'spec.replicas')).toBe(2);
      const selector = obj(at(deployment, 'spec.selector.matchLabels'), 'selector');
      expect(at(deployment, 'spec.template.metadata.labels')).toMatchObject(selector);

      // Above SHUTDOWN_TIMEOUT_MS (drain), with the cancelled in-flight calls handed back.
      const shutdownMs = Number(at(all.get('ConfigMap'), 'data.SHUTDOWN_TIMEOUT_MS'));
      expect(shutdownMs).toBe(30_000);
      expect(spec.terminationGracePeriodSeconds).toBe(60);
      expect(Number(spec.terminationGracePeriodSeconds)).toBeGreaterThan(shutdownMs / 1000);

      expect(at(spec, 'securityContext.runAsNonRoot')).toBe(true);
      const containers = list(spec.containers, 'containers') as Obj[];
      const worker = containers[0] as Obj;
      expect(worker.args).toEqual(['worker']);
      const ports = list(worker.ports, 'ports') as Obj[];
      const portOf = (port: unknown) =>
        typeof port === 'number' ? port : ports.find((p) => p.name === port)?.containerPort;
      expect(at(worker, 'readinessProbe.httpGet.path')).toBe('/readyz');
      expect(portOf(at(worker, 'readinessProbe.httpGet.port'))).toBe(9464);
      expect(at(worker, 'livenessProbe.httpGet.path')).toBe('/healthz');
      expect(portOf(at(worker, 'livenessProbe.httpGet.port'))).toBe(9464);
      expect(at(worker, 'securityContext.readOnlyRootFilesystem')).toBe(true);
      expect(at(worker, 'securityContext.allowPrivilegeEscalation')).toBe(false);
      for (const path of ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']) {
        expect(at(worker.resources, path), `resources.${path}`).toBeDefined();
      }
      const env = list(worker.env, 'env') as Obj[];
      expect(env.find((e) => e.name === 'METRICS_PORT')?.value).toBe('9464');
      const envFrom = list(worker.envFrom, 'envFrom');
      expect(envFrom.map((e) => at(e, 'configMapRef.name'))).toContain(all.get('ConfigMap')?.metadata.name);
      expect(envFrom.map((e) => at(e, 'secretRef.name'))).toContain(all.get('Secret')?.metadata.name);

      const annotations = obj(at(deployment, 'spec.template.metadata.annotations'), 'pod annotations');
      expect(annotations['prometheus.io/scrape']).toBe('true');
      expect(annotations['prometheus.io/port']).toBe('9464');
      expect(annotations['prometheus.io/path']).toBe('/metrics');
    },
  );

  withYaml('Service, PodDisruptionBudget and HorizontalPodAutoscaler point at the worker pods', () => {
    const all = objects();
    const podLabels = obj(at(all.get('Deployment'), 'spec.template.metadata.labels'), 'pod labels');

    const service = all.get('Service');
    expect(podLabels).toMatchObject(obj(at(service, 'spec.selector'), 'service selector'));
    expect((list(at(service, 'spec.ports'), 'service ports') as Obj[]).some((p) => p.port === 9464)).toBe(
      true,
    );

    const pdb = all.get('PodDisruptionBudget');
    expect(pdb?.apiVersion).toBe('policy/v1');
    expect(at(pdb, 'spec.minAvailable')).toBe(1);
    expect(podLabels).toMatchObject(obj(at(pdb, 'spec.selector.matchLabels'), 'pdb selector'));

    const hpa = all.get('HorizontalPodAutoscaler');
    expect(hpa?.apiVersion).toBe('autoscaling/v2');
    expect(at(hpa, 'spec.scaleTargetRef')).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: all.get('Deployment')?.metadata.name,
    });
    expect(Number(at(hpa, 'spec.minReplicas'))).toBeGreaterThanOrEqual(2);
    const metrics = list(at(hpa, 'spec.metrics'), 'hpa metrics') as Obj[];
    const names = metrics.map((m) => at(m, `${String(m.type).toLowerCase()}.metric.name`));
    expect(names).toContain('hbq_queue_depth');
  });

  withYaml('the Secret is a template with placeholder values only', () => {
    const secret = objects().get('Secret');
    const data = obj(at(secret, 'stringData'), 'stringData');
    for (const [key, value] of Object.entries(data)) {
      expect(['', 'REPLACE_ME'], key).toContain(value);
    }
    expect(at(secret, 'data')).toBeUndefined();
  });

  withYaml(
    'prometheus-adapter rules serve hbq_queue_depth; the ServiceMonitor is marked as operator-only',
    () => {
      const [adapter] = loadYaml(`${K8S}/prometheus-adapter-rules.yaml`);
      const config = loadYamlText(String(obj(at(adapter, 'data'), 'adapter data')['config.yaml']));
      const rules = list(at(config, 'externalRules'), 'externalRules');
      expect(rules.map((r) => at(r, 'name.as'))).toContain('hbq_queue_depth');
      expect(rules.map((r) => String(at(r, 'metricsQuery'))).join('\n')).toMatch(/max by \(state\)/);

      const text = read(`${K8S}/servicemonitor.yaml`);
      expect(text).toMatch(/REQUIRES prometheus-operator/);
      const [monitor] = loadYaml(`${K8S}/servicemonitor.yaml`) as K8sObject[];
      expect(monitor?.apiVersion).toBe('monitoring.coreos.com/v1');
      expect(monitor?.kind).toBe('ServiceMonitor');
    },
  );

  withKubectl('kubectl kustomize renders the manifests offline', () => {
    const result = run('kubectl', ['kustomize', K8S]);
    expect(result.status, result.stderr).toBe(0);
    const kinds = [...result.stdout.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]).sort();
    expect(kinds).toEqual(WORKER_KINDS);
  });
});

/** Parses YAML given as text (e.g. a ConfigMap value). */
function loadYamlText(text: string): unknown {
  const script = 'import json,sys,yaml\nprint(json.dumps(yaml.safe_load(sys.stdin.read())))';
  const result = spawnSync('python3', ['-c', script], { input: text, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`cannot parse YAML: ${result.stderr}`);
  return JSON.parse(result.stdout) as unknown;
}
