import { Redis, type RedisOptions } from 'ioredis';

/** How to reach Redis: a URL (and, later, cluster seed nodes). */
export interface RedisTarget {
  url: string;
}

/**
 * Opens a connection. The one place connections are made, so every part of the project connects the same way.
 * `maxRetriesPerRequest: null` makes commands wait out a Redis restart instead of failing fast.
 */
export function connectRedis(target: RedisTarget | string, options: RedisOptions = {}): Redis {
  const url = typeof target === 'string' ? target : target.url;
  return new Redis(url, { maxRetriesPerRequest: null, ...options });
}
