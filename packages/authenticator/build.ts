import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
export const ENTRY = join(here, 'src', 'index.ts');

/**
 * Bundles the authenticator: `iife` is the one script served at /sdk/authenticator.js (the API on
 * `window.Gatehouse`), `esm` the module for bundlers. Minified, ES2020, no dependencies.
 */
export async function bundleAuthenticator(format: 'iife' | 'esm' = 'iife'): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    format,
    globalName: format === 'iife' ? 'Gatehouse' : undefined,
    minify: true,
    target: 'es2020',
    platform: 'browser',
    write: false,
    legalComments: 'none',
    banner: { js: '/* Gatehouse authenticator, MIT */' },
  });
  return result.outputFiles[0]!.text;
}

/** `npm run build -w @gatehouse/authenticator`: writes dist/authenticator.js (IIFE) and dist/index.js (ESM). */
async function main(): Promise<void> {
  const out = join(here, 'dist');
  mkdirSync(out, { recursive: true });
  const iife = await bundleAuthenticator('iife');
  writeFileSync(join(out, 'authenticator.js'), iife);
  writeFileSync(join(out, 'index.js'), await bundleAuthenticator('esm'));
  process.stdout.write(`dist/authenticator.js: ${iife.length} bytes, ${gzipSync(iife).length} gzipped\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
