import { randomBytes } from 'node:crypto';

export const KEY_BYTES = 32;

/** The keys Gatehouse seals with: the first is active, the others only open older values. */
export interface Keyring {
  readonly activeKid: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

export class KeyringError extends Error {
  override name = 'KeyringError';
}

/** Parses `kid1:base64key,kid0:base64key` (the GATEHOUSE_SECRET_KEYS format). */
export function parseKeyring(spec: string): Keyring {
  const keys = new Map<string, Buffer>();
  let activeKid: string | undefined;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const colon = part.indexOf(':');
    const kid = colon > 0 ? part.slice(0, colon) : '';
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(kid)) {
      throw new KeyringError('each key must be written kid:base64key, kid of letters, digits, - or _');
    }
    const key = Buffer.from(part.slice(colon + 1), 'base64');
    if (key.length !== KEY_BYTES) {
      throw new KeyringError(`key "${kid}" must be ${KEY_BYTES} bytes of base64 (openssl rand -base64 32)`);
    }
    if (keys.has(kid)) throw new KeyringError(`key id "${kid}" appears twice`);
    keys.set(kid, key);
    activeKid ??= kid;
  }
  if (!activeKid) throw new KeyringError('no key given');
  return { activeKid, keys };
}

/** A fresh keyring spec with one random key, for development mode. */
export function generateKeyringSpec(kid = `k${Date.now().toString(36)}`): string {
  return `${kid}:${randomBytes(KEY_BYTES).toString('base64')}`;
}
