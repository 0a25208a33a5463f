import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOG_DIR, SECRETS_FILE } from '../support/paths.ts';

// Runs after the whole suite (second vitest run of `npm test`): every log line any test's
// Gatehouse wrote, scanned for every secret any test used.
describe('the suite log output', () => {
  const files = existsSync(LOG_DIR) ? readdirSync(LOG_DIR).map((f) => join(LOG_DIR, f)) : [];
  const lines = files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
  const secrets = existsSync(SECRETS_FILE) ? [...new Set(readFileSync(SECRETS_FILE, 'utf8').split('\n').filter(Boolean))] : [];

  it('exists and covers real traffic (so the scan below cannot pass by having nothing to read)', () => {
    expect(files.length).toBeGreaterThan(0);
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.some((l) => l.includes('/connect/callback'))).toBe(true);
    expect(lines.some((l) => l.includes('"authorization"') || l.includes('[redacted]'))).toBe(true);
    expect(secrets.length).toBeGreaterThan(10);
  });

  it('holds none of the secrets, tokens and codes the tests used', () => {
    // One pass over all the output, looking up each position's first 8 characters among the
    // secrets' (every secret recorded has at least 8): searching the output once per secret is
    // secrets × output, which thousands of secrets and megabytes of log make too slow.
    const output = lines.join('\n');
    const byPrefix = new Map<string, string[]>();
    for (const secret of secrets) {
      const prefix = secret.slice(0, 8);
      byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), secret]);
    }
    const found = new Set<string>();
    for (let i = 0; i + 8 <= output.length; i++) {
      for (const secret of byPrefix.get(output.slice(i, i + 8)) ?? []) if (output.startsWith(secret, i)) found.add(secret);
    }
    const leaks = secrets.filter((secret) => found.has(secret));
    expect(leaks.map((s) => `${s.slice(0, 8)}…`)).toEqual([]);
  });

  it('holds no Gatehouse-minted token of any kind', () => {
    const minted = /\bgh(?:a|r|k|s|cs|ac|wh)_[A-Za-z0-9_-]{40,}/;
    expect(lines.filter((line) => minted.test(line)).slice(0, 3)).toEqual([]);
  });

  it('holds no authorization code or state from a callback URL', () => {
    const callbackValues = /[?&](?:code|state|session|session_token|access_token)=(?!\[redacted\])[^&"\s]+/;
    expect(lines.filter((line) => callbackValues.test(line)).slice(0, 3)).toEqual([]);
  });
});
