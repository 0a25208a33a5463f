// A/B of CPU per request: Gatehouse (SQLite) and the bare Fastify baseline under the verify load,
// alternating short rounds; prints each side's lowest CPU µs/request (the least disturbed round).
// Usage: node --import tsx bench/tools/cpu-ab.ts [rounds] [seconds]
import { APP_SCOPES } from '../lib/cases-as.ts';
import { dropEnv, freshEnv, seedApp, startGatehouse } from '../lib/gatehouse.ts';
import { alternate } from '../lib/load.ts';
import { startNode } from '../lib/processes.ts';

const [rounds = '5', seconds = '2'] = process.argv.slice(2);
const env = await freshEnv('sqlite');
const creds = await seedApp(env, APP_SCOPES);
const gatehouse = await startGatehouse('gatehouse', env);
const fastify = await startNode('fastify', new URL('../baselines/fastify-json.ts', import.meta.url).pathname, {});
try {
  const common = { connections: 50, seconds: Number(seconds) };
  const best = await alternate(
    {
      bare: { ...common, url: `${fastify.url}/`, pid: fastify.pid },
      gatehouse: { ...common, url: `${gatehouse.url}/v1/oauth/token`, authorization: `Bearer ${creds.accessToken}`, pid: gatehouse.pid },
    },
    { rounds: Number(rounds), warmup: 1 },
  );
  const g = best.gatehouse.cpuUsPerRequest!;
  const b = best.bare.cpuUsPerRequest!;
  console.log(`CPU µs/request: gatehouse ${g.toFixed(1)}, bare ${b.toFixed(1)}, capacity ratio ${(b / g).toFixed(2)}; rps ${Math.round(best.gatehouse.rps)} / ${Math.round(best.bare.rps)}`);
} finally {
  await gatehouse.stop();
  await fastify.stop();
  await dropEnv(env);
}
