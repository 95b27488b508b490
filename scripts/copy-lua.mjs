// Lua scripts are read at run time next to the compiled modules, so the build copies them into dist/.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function copyLua(from, to) {
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    if (statSync(src).isDirectory()) copyLua(src, join(to, name));
    else if (name.endsWith('.lua')) cpSync(src, join(to, name));
  }
}
copyLua('src', 'dist');
