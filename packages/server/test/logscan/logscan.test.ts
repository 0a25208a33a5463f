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
    const leaks = secrets.filter((secret) => lines.some((line) => line.includes(secret)));
    expect(leaks.map((s) => `${s.slice(0, 8)}…`)).toEqual([]);
  });

  it('holds no Gatehouse-minted token of any kind', () => {
    const minted = /\bgh(?:a|r|k|s|cs|ac)_[A-Za-z0-9_-]{40,}/;
    expect(lines.filter((line) => minted.test(line)).slice(0, 3)).toEqual([]);
  });

  it('holds no authorization code or state from a callback URL', () => {
    const callbackValues = /[?&](?:code|state|session|session_token|access_token)=(?!\[redacted\])[^&"\s]+/;
    expect(lines.filter((line) => callbackValues.test(line)).slice(0, 3)).toEqual([]);
  });
});
