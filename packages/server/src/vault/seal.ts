import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.ts';

/** Where a sealed value lives; bound into the ciphertext as AAD so it cannot be moved elsewhere. */
export interface SealContext {
  table: string;
  id: string;
  field: string;
}

export class VaultError extends Error {
  override name = 'VaultError';
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

function aad(context: SealContext): Buffer {
  return Buffer.from(`${context.table}:${context.id}:${context.field}`, 'utf8');
}

export interface Vault {
  readonly activeKid: string;
  /** Every key id of the keyring, the active one first. */
  readonly kids: readonly string[];
  /** AES-256-GCM under the active key: `v1.<kid>.<iv>.<ciphertext+tag>` (base64url parts). */
  seal(plaintext: string, context: SealContext): string;
  /** Opens a value sealed under any key of the keyring, for exactly this row and column. */
  open(sealed: string, context: SealContext): string;
  /** The key id a sealed value was sealed under. */
  kidOf(sealed: string): string;
}

export function createVault(keyring: Keyring): Vault {
  const parse = (sealed: string) => {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new VaultError('not a sealed value');
    return { kid: parts[1]!, iv: Buffer.from(parts[2]!, 'base64url'), body: Buffer.from(parts[3]!, 'base64url') };
  };
  return {
    activeKid: keyring.activeKid,
    kids: [...keyring.keys.keys()],
    seal(plaintext, context) {
      const key = keyring.keys.get(keyring.activeKid)!;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(aad(context));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return [VERSION, keyring.activeKid, iv.toString('base64url'), body.toString('base64url')].join('.');
    },
    open(sealed, context) {
      const { kid, iv, body } = parse(sealed);
      const key = keyring.keys.get(kid);
      if (!key) throw new VaultError(`no key "${kid}" in the keyring`);
      if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new VaultError('not a sealed value');
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(aad(context));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new VaultError(`sealed value does not open for ${context.table}.${context.field}`);
      }
    },
    kidOf: (sealed) => parse(sealed).kid,
  };
}
