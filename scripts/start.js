#!/usr/bin/env node
// `npm start`: the sources run through tsx in this same process (no build step, no extra child
// process between npm and the demo, so signals reach it directly).
import '../packages/server/bin/tick-record.js';
import { register } from 'tsx/esm/api';

register();
await import('./start.ts');
