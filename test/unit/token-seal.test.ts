import { describe, expect, it } from 'vitest';
import { openToken, sealToken, tokenSealKey } from '../../src/tokens/token-seal.js';

const key = tokenSealKey('a-secret-of-at-least-16-bytes');
const TOKEN = 'CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4';

describe('sealed tokens', () => {
  it('opens what it sealed, and never shows the token in the sealed form', () => {
    const sealed = sealToken(key, 'acct-1', TOKEN);
    expect(openToken(key, 'acct-1', sealed)).toBe(TOKEN);
    expect(sealed).not.toContain(TOKEN);
    expect(Buffer.from(sealed.slice(3), 'base64').toString('latin1')).not.toContain(TOKEN);
  });

  it('seals the same token differently every time', () => {
    expect(sealToken(key, 'acct-1', TOKEN)).not.toBe(sealToken(key, 'acct-1', TOKEN));
  });

  it('does not open under another secret, another account, or once altered', () => {
    const sealed = sealToken(key, 'acct-1', TOKEN);
    expect(openToken(tokenSealKey('another-secret-of-16-bytes'), 'acct-1', sealed)).toBeUndefined();
    expect(openToken(key, 'acct-2', sealed)).toBeUndefined();
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(openToken(key, 'acct-1', `v1.${raw.toString('base64')}`)).toBeUndefined();
    expect(openToken(key, 'acct-1', TOKEN)).toBeUndefined();
    expect(openToken(key, 'acct-1', 'v1.')).toBeUndefined();
  });

  it('derives the same key from the same secret, as string or bytes', () => {
    const sealed = sealToken(key, 'acct-1', TOKEN);
    const again = tokenSealKey(Buffer.from('a-secret-of-at-least-16-bytes', 'utf8'));
    expect(openToken(again, 'acct-1', sealed)).toBe(TOKEN);
  });

  it('refuses a secret shorter than 16 bytes without echoing it', () => {
    expect(() => tokenSealKey('short-secret')).toThrow(/at least 16 bytes/);
    expect(() => tokenSealKey('short-secret')).not.toThrow(/short-secret/);
  });
});
