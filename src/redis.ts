import { Cluster, Redis, type RedisOptions } from 'ioredis';

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\//;

/**
 * Opens a connection; the one place connections are made. `maxRetriesPerRequest: null` makes commands wait out
 * a Redis restart instead of failing fast.
 *
 * A URL with the scheme `redis+cluster://` (or `rediss+cluster://`) names a seed node of a Redis Cluster; the
 * other nodes are discovered. Every key of a queue shares one hash tag, so each Lua script runs on one node.
 * The cluster client is typed as `Redis`: the project uses only commands both clients share.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  const redisOptions: RedisOptions = { maxRetriesPerRequest: null, ...options };
  const match = CLUSTER_SCHEME.exec(url);
  if (!match) return new Redis(url, redisOptions);
  const seed = new URL(url.replace(CLUSTER_SCHEME, `${match[1]}://`));
  const { lazyConnect, ...nodeOptions } = redisOptions;
  const cluster = new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
    lazyConnect: lazyConnect ?? false,
    redisOptions: {
      ...nodeOptions,
      ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
      ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
      ...(match[1] === 'rediss' ? { tls: {} } : {}),
    },
  });
  return cluster as unknown as Redis;
}
