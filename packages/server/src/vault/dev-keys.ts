import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyringSpec } from './keyring.ts';

export const DEV_KEYS_FILE = 'secret-keys';

/**
 * Development mode only: the keyring spec kept in `<dataDir>/secret-keys` (mode 0600),
 * generated on first use. `generated` tells the caller to warn.
 */
export function loadOrCreateDevKeys(dataDir: string): { spec: string; path: string; generated: boolean } {
  const path = join(dataDir, DEV_KEYS_FILE);
  if (existsSync(path)) return { spec: readFileSync(path, 'utf8').trim(), path, generated: false };
  mkdirSync(dataDir, { recursive: true });
  const spec = generateKeyringSpec();
  writeFileSync(path, `${spec}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { spec, path, generated: true };
}
