#!/usr/bin/env node
// The CLI runs the TypeScript sources directly through tsx: no build step between clone and start.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
