import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { LUA_KEYS } from './lua-prelude.js';

/** A Lua script loaded from its own file, run with EVALSHA (falling back to EVAL once per connection). */
export interface LuaScript {
  readonly name: string;
  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

/** Shared Lua code a script can be prefixed with. */
export interface LuaPrelude {
  /** The queue's keys and stored formats, `K` (see `LUA_KEYS` in lua-prelude.ts): ARGV[1] key root, ARGV[2] job prefix. */
  keys?: boolean;
  /** Library files (next to this module, in `lua/`) prepended in order, e.g. `finish.lua`. */
  libs?: readonly string[];
}

/**
 * Loads a `.lua` file that sits next to the calling module (the build copies them into `dist/`), prefixed with
 * the preludes asked for. Reading happens on first use, not at import time.
 */
export function luaScript(name: string, url: URL, prelude: LuaPrelude = {}): LuaScript {
  let source: string | undefined;
  const commandName = `hbq_${name}`;
  const defined = new WeakSet<Redis>();
  return {
    name,
    async run(redis, keys, args) {
      source ??= [
        prelude.keys ? LUA_KEYS : '',
        ...(prelude.libs ?? []).map((lib) => readFileSync(new URL(`./lua/${lib}`, import.meta.url), 'utf8')),
        readFileSync(url, 'utf8'),
      ].join('\n');
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

/** Deletes a key only while it holds a given value (releasing a lock this process still holds). */
export const compareAndDelete: LuaScript = luaScript(
  'compareAndDelete',
  new URL('./lua/compare-and-delete.lua', import.meta.url),
);
