// Starts one seeded Gatehouse (SQLite) as the bench runs it and keeps it up until Ctrl-C, for
// poking at by hand: node --import tsx bench/tools/serve-seeded.ts
import { APP_SCOPES, gatehouseSpecs } from '../lib/cases-as.ts';
import { dropEnv, freshEnv, seedApp, startGatehouse } from '../lib/gatehouse.ts';

const env = await freshEnv(process.env.STORE === 'postgres' ? 'postgres' : 'sqlite');
const creds = await seedApp(env, APP_SCOPES);
const gatehouse = await startGatehouse('gatehouse-seeded', env, { nodeArgs: process.env.NODE_ARGS?.split(' ').filter(Boolean) ?? [] });
console.log(JSON.stringify({ pid: gatehouse.pid, specs: gatehouseSpecs({ connections: 50, seconds: 5 }, { service: gatehouse, creds }) }, null, 1));
const stop = async () => {
  await gatehouse.stop();
  await dropEnv(env);
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
