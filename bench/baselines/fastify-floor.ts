// A floor for Gatehouse's verify and introspection answers: bare Fastify doing only the work those
// answers cannot skip. It has Gatehouse's logger set-up (pino at warn, a lazy child per request,
// its log controller, which is what makes Fastify follow each response), the same security and
// no-store headers, the routes' form parser and body and response schemas, and a SHA-256 of each
// credential presented. No store, no cache, no client check: the answers are fixed.
// `duel.ts verify|introspect floor <bin>` prints Gatehouse's CPU per request over this one's.
import { hash } from 'node:crypto';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import formbody from '@fastify/formbody';
import { Type } from '@sinclair/typebox';
import { RequestLogLines } from '../../packages/server/src/http/request-log.ts';
import { IntrospectionSchema, VerificationSchema } from '../../packages/server/src/http/schemas.ts';
import { createLogger, lazyChildLogger } from '../../packages/server/src/logger.ts';

// what Gatehouse's ServerResponse adds to an API answer, set here per reply: a subclass of Node's
// ServerResponse costs more run under tsx than in Gatehouse's bundle, and would raise the floor
const HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
  pragma: 'no-cache',
};
const FormField = Type.Optional(Type.String({ maxLength: 4096 }));
const TokenParamForm = Type.Object({ token: FormField, token_type_hint: FormField, client_id: FormField, client_secret: FormField });
const now = Math.floor(Date.now() / 1000);
const introspection = { active: true, token_type: 'Bearer', client_id: 'app_floor', scope: 'accounts:read accounts:write proxy', exp: now + 3600, iat: now };
const verification = { client_id: 'app_floor', account_id: null, scope: 'accounts:read accounts:write proxy', expires_at: new Date((now + 3600) * 1000).toISOString() };
const digest = (value: string | undefined) => hash('sha256', value ?? '', 'hex');

const logger = createLogger('warn');
const app = Fastify({
  loggerInstance: logger as FastifyBaseLogger,
  childLoggerFactory: (parent, bindings, options) => lazyChildLogger(parent as typeof logger, bindings, options as Record<string, unknown>) as FastifyBaseLogger,
  logController: new RequestLogLines(false, () => {}),
});
await app.register(formbody);
app.get('/v1/oauth/token', { schema: { response: { 200: VerificationSchema } } }, (request, reply) => {
  digest(request.headers.authorization);
  reply.headers(HEADERS);
  return verification;
});
app.post('/oauth/introspect', { schema: { body: TokenParamForm, response: { 200: IntrospectionSchema } } }, (request, reply) => {
  digest(request.headers.authorization);
  digest((request.body as { token?: string }).token);
  reply.headers(HEADERS);
  return introspection;
});
app.get('/healthz', () => ({ ok: true }));
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write('ready\n');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
