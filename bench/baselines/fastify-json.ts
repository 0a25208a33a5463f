// Baseline for "verify": a bare Fastify GET answering a small JSON document, logging off.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ client_id: 'app_bench', account_id: null, scope: 'accounts:read', expires_at: '2026-11-23T00:00:00.000Z' }));
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write('ready\n');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
