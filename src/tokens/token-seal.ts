import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** Smallest shared secret accepted, in bytes: below this a guessed secret would open every stored token. */
export const MIN_SECRET_BYTES = 16;

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The AES-256-GCM key that seals access tokens shared through Redis, derived (HKDF-SHA256) from a secret every
 * replica is given. Deriving rather than using the secret directly lets the secret be any length and keeps this
 * key apart from whatever else the secret protects (it may be the OAuth client secret).
 */
export function tokenSealKey(secret: string | Uint8Array): Buffer {
  const material = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (material.length < MIN_SECRET_BYTES) {
    throw new RangeError(`the token cache secret must be at least ${MIN_SECRET_BYTES} bytes long`);
  }
  return Buffer.from(hkdfSync('sha256', material, 'hubspot-batch-queue/token-cache', VERSION, 32));
}

/**
 * Encrypts an access token for storage. The account is bound in as associated data, so a sealed token copied
 * under another account's key does not open there.
 */
export function sealToken(key: Buffer, account: string, token: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(account, 'utf8'));
  const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

/** The token inside `sealed`, or undefined when it was sealed under another key or account, or altered. */
export function openToken(key: Buffer, account: string, sealed: string): string | undefined {
  const [version, payload] = sealed.split('.', 2);
  if (version !== VERSION || !payload) return undefined;
  const raw = Buffer.from(payload, 'base64');
  if (raw.length <= IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(account, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}
