# Worker image for hubspot-batch-queue.
#
#   docker build -t hubspot-batch-queue .
#   docker run --rm -e REDIS_URL=redis://redis:6379 -e HUBSPOT_ACCESS_TOKEN=... hubspot-batch-queue          # worker
#   docker run --rm -i -e REDIS_URL=... hubspot-batch-queue enqueue - < updates.ndjson                       # one-off
#   docker run --rm -p 8089:8089 hubspot-batch-queue simulator --port 8089                                   # demo
#
# The same image runs every CLI command: ENTRYPOINT is the CLI, CMD picks the command.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: full dependency tree, TypeScript compile, .lua files copied into dist/ -------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency needs an install script (package.json "allowScripts" lists none as allowed).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# --- prod-deps: runtime dependencies only ------------------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    METRICS_PORT=9464
WORKDIR /app
# package.json is needed at run time: it marks dist/ as ES modules ("type": "module").
COPY --chown=root:root package.json ./
COPY --from=prod-deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist

# The image's unprivileged "node" user, by number so that Kubernetes' runAsNonRoot can verify it.
# Files stay owned by root: the process cannot modify its own code, and the root filesystem can be read-only.
USER 1000:1000

# /metrics, /healthz (liveness) and /readyz (readiness) of the worker.
EXPOSE 9464

# The worker stops taking work on SIGTERM, lets in-flight batches finish for up to SHUTDOWN_TIMEOUT_MS
# (default 30 s) and hands the rest back; give the container more than that to stop (compose
# stop_grace_period, Kubernetes terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM

# Liveness only (/healthz): a worker that cannot reach Redis is unready, not dead, and should not be restarted.
# With METRICS_PORT=0 the worker serves nothing, so the check passes trivially. Commands other than `worker`
# (e.g. the simulator) should override or disable this check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const p=process.env.METRICS_PORT||'9464';if(p==='0')process.exit(0);fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "dist/bin.js"]
CMD ["worker"]
