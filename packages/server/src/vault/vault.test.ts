import { createHash, randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import {
  createVault,
  generateKeyringSpec,
  KeyringError,
  mintToken,
  newId,
  parseKeyring,
  safeEqual,
  TOKEN_PREFIX,
  tokenKey,
  VaultError,
  type SealContext,
  type TokenKind,
} from './index.ts';

const key = () => randomBytes(32).toString('base64');
const context: SealContext = { table: 'integrations', id: 'int_abc', field: 'client_secret' };

/** Flips one bit of one byte of a base64url part of a sealed value. */
function tamper(sealed: string, part: 2 | 3, byte = 0): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[byte] = bytes[byte]! ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('vault seal/open', () => {
  const vault = createVault(parseKeyring(generateKeyringSpec('k1')));

  it('opens what it sealed, for the same context', () => {
    for (const plaintext of ['s3cret-value', '', 'ünïcødé ✓ 🔑', 'x'.repeat(10_000)]) {
      const sealed = vault.seal(plaintext, context);
      expect(sealed).not.toContain(plaintext || '\0');
      expect(sealed).toMatch(/^v1\.k1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      expect(vault.open(sealed, context)).toBe(plaintext);
    }
  });

  it('seals the same plaintext differently each time (random IV)', () => {
    const sealed = new Set(Array.from({ length: 20 }, () => vault.seal('same plaintext', context)));
    expect(sealed.size).toBe(20);
    const ivs = new Set([...sealed].map((s) => s.split('.')[2]));
    expect(ivs.size).toBe(20);
    for (const s of sealed) expect(vault.open(s, context)).toBe('same plaintext');
  });

  it('refuses a ciphertext copied to another row id, field or table', () => {
    const sealed = vault.seal('bound to its row', context);
    expect(() => vault.open(sealed, { ...context, id: 'int_other' })).toThrow(VaultError);
    expect(() => vault.open(sealed, { ...context, field: 'client_id' })).toThrow(VaultError);
    expect(() => vault.open(sealed, { ...context, table: 'account_tokens' })).toThrow(VaultError);
    expect(vault.open(sealed, context)).toBe('bound to its row');
  });

  it('refuses a tampered ciphertext, tag or IV', () => {
    const sealed = vault.seal('do not touch', context);
    const bodyLength = Buffer.from(sealed.split('.')[3]!, 'base64url').length;
    expect(() => vault.open(tamper(sealed, 3, 0), context)).toThrow(VaultError); // ciphertext
    expect(() => vault.open(tamper(sealed, 3, bodyLength - 1), context)).toThrow(VaultError); // tag
    expect(() => vault.open(tamper(sealed, 2, 5), context)).toThrow(VaultError); // IV
    const parts = sealed.split('.');
    expect(() => vault.open([...parts.slice(0, 3), parts[3]!.slice(0, 10)].join('.'), context)).toThrow(VaultError); // truncated
    expect(() => vault.open([parts[0], parts[1], parts[2]!.slice(4), parts[3]].join('.'), context)).toThrow(VaultError); // short IV
  });

  it('refuses values that are not sealed values', () => {
    for (const bad of ['', 'plain text', 'v1.k1.abc', 'v2.k1.aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbb', 'v1.k1.a.b.c']) {
      expect(() => vault.open(bad, context)).toThrow(VaultError);
    }
    expect(() => vault.kidOf('nope')).toThrow(VaultError);
  });

  it('opens values sealed under an older key after a new active key is added', () => {
    const oldKey = key();
    const newKey = key();
    const before = createVault(parseKeyring(`old:${oldKey}`));
    const sealedOld = before.seal('sealed long ago', context);
    expect(before.kidOf(sealedOld)).toBe('old');

    const after = createVault(parseKeyring(`new:${newKey},old:${oldKey}`));
    expect(after.activeKid).toBe('new');
    expect(after.kidOf(sealedOld)).toBe('old');
    expect(after.open(sealedOld, context)).toBe('sealed long ago');

    const sealedNew = after.seal('sealed today', context);
    expect(after.kidOf(sealedNew)).toBe('new');
    expect(after.open(sealedNew, context)).toBe('sealed today');
    // The old keyring does not know the new kid.
    expect(() => before.open(sealedNew, context)).toThrow(VaultError);
    expect(() => before.open(sealedNew, context)).toThrow(/no key "new"/);
  });

  it('refuses a value sealed under a kid the keyring does not have', () => {
    const other = createVault(parseKeyring(`elsewhere:${key()}`));
    const sealed = other.seal('not for you', context);
    expect(() => vault.open(sealed, context)).toThrow(VaultError);
    expect(() => vault.open(sealed, context)).toThrow(/no key "elsewhere"/);
  });

  it('refuses a value sealed under the same kid but a different key', () => {
    const impostor = createVault(parseKeyring(`k1:${key()}`));
    expect(() => vault.open(impostor.seal('same kid, other key', context), context)).toThrow(VaultError);
  });
});

describe('parseKeyring', () => {
  it('parses kid:base64key pairs; the first key is active', () => {
    const a = key();
    const b = key();
    const keyring = parseKeyring(` k2:${a} , k1:${b} ,`);
    expect(keyring.activeKid).toBe('k2');
    expect([...keyring.keys.keys()]).toEqual(['k2', 'k1']);
    expect(keyring.keys.get('k2')!.equals(Buffer.from(a, 'base64'))).toBe(true);
    expect(keyring.keys.get('k1')!.length).toBe(32);
  });

  it('accepts what generateKeyringSpec generates', () => {
    const spec = generateKeyringSpec('dev');
    expect(spec).toMatch(/^dev:[A-Za-z0-9+/]{43}=$/);
    expect(parseKeyring(spec).activeKid).toBe('dev');
    expect(generateKeyringSpec()).toMatch(/^k[0-9a-z]+:/);
    expect(generateKeyringSpec('x')).not.toBe(generateKeyringSpec('x'));
  });

  it('rejects a bad kid', () => {
    for (const spec of [key(), `:${key()}`, `bad kid:${key()}`, `k.1:${key()}`, `${'k'.repeat(33)}:${key()}`]) {
      expect(() => parseKeyring(spec), spec).toThrow(KeyringError);
      expect(() => parseKeyring(spec), spec).toThrow(/kid:base64key/);
    }
  });

  it('rejects a key that is not 32 bytes', () => {
    for (const spec of ['k1:', `k1:${randomBytes(16).toString('base64')}`, `k1:${randomBytes(33).toString('base64')}`, 'k1:not-base64-at-all']) {
      expect(() => parseKeyring(spec), spec).toThrow(KeyringError);
      expect(() => parseKeyring(spec), spec).toThrow(/32 bytes/);
    }
  });

  it('rejects a duplicate kid', () => {
    expect(() => parseKeyring(`k1:${key()},k1:${key()}`)).toThrow(KeyringError);
    expect(() => parseKeyring(`k1:${key()},k1:${key()}`)).toThrow(/"k1" appears twice/);
  });

  it('rejects an empty spec', () => {
    for (const spec of ['', '   ', ',', ' , ,']) {
      expect(() => parseKeyring(spec)).toThrow(KeyringError);
      expect(() => parseKeyring(spec)).toThrow(/no key/);
    }
  });
});

describe('tokens', () => {
  it('mints prefixed values: the mint time, then 256 random bits in base64url, all different', () => {
    const kinds = Object.keys(TOKEN_PREFIX) as TokenKind[];
    expect(TOKEN_PREFIX).toMatchObject({ accessToken: 'gha_', refreshToken: 'ghr_', apiKey: 'ghk_', clientSecret: 'ghcs_' });
    const seen = new Set<string>();
    for (const kind of kinds) {
      for (let i = 0; i < 50; i++) {
        const before = Date.now();
        const token = mintToken(kind);
        const prefix = TOKEN_PREFIX[kind];
        expect(token.startsWith(prefix)).toBe(true);
        const time = token.slice(prefix.length, prefix.length + 11);
        expect(time).toMatch(/^[0-9a-f]{11}$/);
        expect(parseInt(time, 16)).toBeGreaterThanOrEqual(before);
        expect(parseInt(time, 16)).toBeLessThanOrEqual(Date.now());
        const body = token.slice(prefix.length + 11);
        expect(body).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(Buffer.from(body, 'base64url').length).toBe(32);
        seen.add(token);
      }
    }
    expect(seen.size).toBe(kinds.length * 50);
  });

  it('keeps minting distinct values across refills of the random pool', () => {
    // 4 KiB pool = 128 tokens: 1,000 tokens span several refills, and ids of odd sizes misalign them
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      seen.add(mintToken('accessToken'));
      seen.add(newId('acc', 12 + (i % 5)));
    }
    expect(seen.size).toBe(2000);
    const bodies = [...seen].filter((t) => t.startsWith('gha_')).map((t) => Buffer.from(t.slice(4 + 11), 'base64url'));
    // no all-zero output (the pool zeroes what it hands out; a value must be taken before that)
    expect(bodies.some((b) => b.every((byte) => byte === 0))).toBe(false);
  });

  it('keys a minted token by its mint time, then its SHA-256 (hex)', () => {
    const token = mintToken('accessToken');
    const sha256 = createHash('sha256').update(token).digest('hex');
    expect(tokenKey(token)).toBe(token.slice(4, 15) + sha256);
    expect(tokenKey(token)).toMatch(/^[0-9a-f]{75}$/);
    expect(tokenKey(token)).not.toBe(tokenKey(mintToken('accessToken')));
    for (const kind of Object.keys(TOKEN_PREFIX) as TokenKind[]) {
      const other = mintToken(kind);
      expect(tokenKey(other)).toBe(other.slice(TOKEN_PREFIX[kind].length, TOKEN_PREFIX[kind].length + 11) + createHash('sha256').update(other).digest('hex'));
    }
  });

  it('keys tokens minted later after earlier ones (new rows go at the end of the index)', async () => {
    const earlier = Array.from({ length: 20 }, () => tokenKey(mintToken('refreshToken')));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = Array.from({ length: 20 }, () => tokenKey(mintToken('refreshToken')));
    const lastEarlier = [...earlier].sort().at(-1)!;
    for (const key of later) expect(key > lastEarlier).toBe(true);
  });

  it('keys any other value by its SHA-256 alone: older tokens without a mint time, states, handles', () => {
    expect(tokenKey('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(tokenKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
    const random = mintToken('accessToken').slice(4 + 11);
    for (const value of [
      `gha_${random}`, // as minted before tokens carried their time
      `ghk_${random}`,
      random,
      `xyz_${'0'.repeat(11)}${random}`, // not one of Gatehouse's prefixes
      `gha_${'0'.repeat(11)}${random}x`, // one character too many
    ]) {
      expect(tokenKey(value)).toBe(sha256(value));
    }
  });

  it('compares in constant time: equal, different, different lengths', () => {
    const token = mintToken('clientSecret');
    expect(safeEqual(token, `${token}`)).toBe(true);
    expect(safeEqual('', '')).toBe(true);
    expect(safeEqual(token, mintToken('clientSecret'))).toBe(false);
    expect(safeEqual('abcd', 'abce')).toBe(false);
    expect(safeEqual(token, token.slice(0, -1))).toBe(false);
    expect(safeEqual('short', 'much longer value')).toBe(false);
    expect(safeEqual('', 'x')).toBe(false);
    // Same number of characters, different number of UTF-8 bytes.
    expect(safeEqual('é', 'e')).toBe(false);
  });
});
