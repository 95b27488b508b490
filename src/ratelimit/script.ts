import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** A Lua script kept in its own `.lua` file and run with EVALSHA, falling back to EVAL when Redis lacks it. */
export interface RateLimitScript {
  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

/**
 * Loads a `.lua` file lazily: nothing is read at import time, and the build copies the files next to the
 * compiled modules, so `new URL('./lua/x.lua', import.meta.url)` resolves in `src/` and `dist/` alike.
 */
export function rateLimitScript(url: URL): RateLimitScript {
  let loaded: { source: string; sha: string } | undefined;
  const load = () => {
    if (!loaded) {
      const source = readFileSync(url, 'utf8');
      loaded = { source, sha: createHash('sha1').update(source).digest('hex') };
    }
    return loaded;
  };
  return {
    async run(redis, keys, args) {
      const { source, sha } = load();
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        // A restarted or flushed Redis forgets cached scripts; EVAL caches it again for the next EVALSHA.
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return redis.eval(source, keys.length, ...keys, ...args);
      }
    },
  };
}
