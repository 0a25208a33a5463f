#!/usr/bin/env node
// The CLI runs the TypeScript sources, bundled at start (sources.js): no build step between clone and start.
import './tick-record.js';
import { fileURLToPath } from 'node:url';
import { importSources } from './sources.js';

const { main } = await importSources(fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)));
await main(process.argv);
