#!/usr/bin/env node
// Runs the sandbox provider alone (sources through tsx, like the gatehouse CLI: no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
await main(process.env);
