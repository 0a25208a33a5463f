// Baseline for the proxy cases: a bare Fastify + undici forwarder to the local upstream. It injects
// a fixed bearer token and passes status, content type and body back; nothing stored, nothing checked.
import Fastify from 'fastify';
import { Pool } from 'undici';

const upstream = process.env.UPSTREAM_URL ?? 'http://127.0.0.1:1';
const pool = new Pool(upstream, { connections: 128 });
const app = Fastify({ logger: false });
app.get('/fwd/*', async (request, reply) => {
  const path = (request.params as { '*': string })['*'];
  const answer = await pool.request({
    method: 'GET',
    path: `/${path}`,
    headers: { authorization: 'Bearer up_at_forwarder', accept: 'application/json' },
  });
  reply.code(answer.statusCode);
  const type = answer.headers['content-type'];
  if (typeof type === 'string') reply.header('content-type', type);
  return reply.send(Buffer.from(await answer.body.arrayBuffer()));
});
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write('ready\n');
process.on('SIGTERM', () => void app.close().then(() => pool.close()).then(() => process.exit(0)));
