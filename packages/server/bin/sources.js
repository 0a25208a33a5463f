// Runs the TypeScript sources without a build step: esbuild bundles them into one JavaScript
// module at start (a few hundred milliseconds), which Node then loads like any other. Unlike a
// loader hook (tsx), nothing stays resident beside the server: no loader thread with a V8 heap
// of its own (about 35 MB of RSS), and no name-keeping wrapper around every closure the server
// creates while it serves.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const OWN_PACKAGES = /^@gatehouse\//;
const SKIP = Symbol('resolve as esbuild would');

/**
 * npm packages stay outside the bundle: each is imported from the absolute path esbuild resolves
 * it to (with Node's conditions), so the bundle can be loaded from any folder. The workspace's own
 * packages (TypeScript) are bundled. `import.meta.url` keeps meaning the source file it is written
 * in, since the sources find their data files (provider entries, page assets) beside themselves.
 */
const sourcesPlugin = {
  name: 'gatehouse-sources',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === SKIP || OWN_PACKAGES.test(args.path) || args.path.startsWith('node:')) return undefined;
      const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: SKIP });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      return { path: resolved.external ? args.path : pathToFileURL(resolved.path).href, external: true };
    });
    b.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
      loader: 'ts',
    }));
  },
};

/** Bundles a TypeScript entry module and imports it; resolves to its exports. */
export async function importSources(entry) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-run-'));
  const file = join(dir, 'gatehouse.mjs');
  try {
    const result = await build({
      entryPoints: [entry],
      outfile: file,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      // stack traces point into the .ts sources (used only when a stack is printed)
      sourcemap: 'inline',
      sourcesContent: false,
      legalComments: 'none',
      logLevel: 'error',
      plugins: [sourcesPlugin],
    });
    writeFileSync(file, result.outputFiles[0].contents, { mode: 0o600 });
    process.setSourceMapsEnabled(true);
    return await import(pathToFileURL(file).href);
  } finally {
    // once imported, Node holds the module in memory
    rmSync(dir, { recursive: true, force: true });
  }
}
