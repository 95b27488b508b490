import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** A Lua script loaded from its own file, run with EVALSHA (falling back to EVAL once per connection). */
export interface LuaScript {
  readonly name: string;
  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

/**
 * Loads a `.lua` file that sits next to the calling module (the build copies them into `dist/`).
 * Reading happens on first use, not at import time.
 */
export function luaScript(name: string, url: URL): LuaScript {
  let source: string | undefined;
  const commandName = `hbq_${name}`;
  const defined = new WeakSet<Redis>();
  return {
    name,
    async run(redis, keys, args) {
      source ??= readFileSync(url, 'utf8');
      if (!defined.has(redis)) {
        redis.defineCommand(commandName, { lua: source });
        defined.add(redis);
      }
      const command = (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[
        commandName
      ];
      if (!command) throw new Error(`Lua command ${commandName} is not defined`);
      return command.call(redis, keys.length, ...keys, ...args);
    },
  };
}
