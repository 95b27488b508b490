/**
 * How an email is compared, in one place for TypeScript and Lua: case-insensitively, one code point at a time,
 * each mapped to its lower case (Unicode's simple mapping: the first code point of `toLowerCase`, so `İ` is `i`,
 * and a final `Σ` is `σ` wherever it stands). HubSpot finds a contact by its email whatever its case, in any
 * script (`ÉLODIE@exemple.fr` names the contact of `élodie@exemple.fr`); the simulator compares emails the same
 * way. The worker keys mappings by the folded value in Lua (ingest, settle, resolve), which only lower-cases
 * ASCII by itself: {@link EMAIL_CASE_LUA} gives it the same table, built from the same function.
 */

/** One code point's lower case, as compared: the first code point of its full lower-case mapping. */
function lowerCodePoint(c: string): string {
  const lower = c.toLowerCase();
  const first = lower.codePointAt(0);
  return first === undefined ? c : String.fromCodePoint(first);
}

/** An email as compared and kept in the queue's keys: every code point lower-cased (see the module's doc). */
export function foldEmailCase(value: string): string {
  // Most emails are printable ASCII, which toLowerCase folds alike: one pass of the regex engine.
  if (!/[^ -~]/.test(value)) return value.toLowerCase();
  return Array.from(value, lowerCodePoint).join('');
}

/**
 * Non-ASCII code points whose lower case differs, as `<upper>lower` pairs ending with `<`: neither mark is ever
 * part of a pair (the upper side is never ASCII, the lower never `<` or `>`), so a plain search finds a pair.
 */
function upperPairs(): string {
  const parts: string[] = [];
  for (let cp = 0x80; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    const lower = lowerCodePoint(c);
    if (lower !== c) parts.push(`<${c}>${lower}`);
  }
  return `${parts.join('')}<`;
}

/**
 * Lua for the keys prelude: `K.lowerEmail(value)`, {@link foldEmailCase} for Redis's Lua (whose `string.lower`
 * knows ASCII only). The table is one string constant, searched only for the non-ASCII characters of a value.
 */
export function emailCaseLua(): string {
  return [
    // Raw UTF-8 in the literal: Lua strings are bytes, and no pair holds a quote, a backslash or a line break.
    `K.UPPER_PAIRS = '${upperPairs()}'`,
    'function K.lowerEmail(value)',
    '  value = string.lower(value)',
    "  if not string.find(value, '[\\128-\\255]') then return value end",
    "  return (string.gsub(value, '[\\192-\\247][\\128-\\191]*', function(c)",
    "    local at = string.find(K.UPPER_PAIRS, '<' .. c .. '>', 1, true)",
    '    if not at then return c end',
    '    local from = at + #c + 2',
    "    return string.sub(K.UPPER_PAIRS, from, string.find(K.UPPER_PAIRS, '<', from, true) - 1)",
    '  end))',
    'end',
  ].join('\n');
}
