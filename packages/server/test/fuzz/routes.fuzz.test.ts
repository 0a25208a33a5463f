import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrate, registerApp } from '../support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.ts';
import { recordSecret } from '../support/secrets.ts';
import { startOAuth2Upstream, type OAuth2Upstream } from '../support/upstreams.ts';

// Property-based fuzzing of every route of a running Gatehouse over real HTTP (node:http, so odd
// methods, duplicated headers and raw bytes go out as they are). Every answer must come within
// REQUEST_TIMEOUT_MS, never be a 5xx, and every 4xx must have the documented RFC 6749 shape
// (or, on the page routes, be an HTML error page with a reference id); a 401 names its scheme.
// FUZZ_RUNS sets the cases per route (default 200; `npm run fuzz` runs 10,000).

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 200) || 200);
const REQUEST_TIMEOUT_MS = 5_000;
const BODY_LIMIT = 256 * 1024;
const PROVIDER = 'test-oauth2';
const MOCK_SECRET = 'mock-client-secret-fuzz-0123456789';

interface Route {
  name: string;
  method: string;
  /** The path template; `:x` segments are filled in by the arbitrary. */
  path: string;
  /** The route answers people: a 4xx may be an HTML page, a 3xx a redirect. */
  page?: boolean;
  /** The field names the route reads, so the fuzz names them (and repeats them) often. */
  fields: string[];
  body?: 'form' | 'json';
  auth?: 'client' | 'bearer';
  /** The provider proxy: an answer with `Via: … gatehouse` is the provider's own, passed through as it is. */
  proxied?: boolean;
}

const AUTHORIZE_FIELDS = [
  'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method',
  'session_token', 'provider', 'login_hint', 'account_id',
];
const TOKEN_FIELDS = ['grant_type', 'scope', 'client_id', 'client_secret', 'code', 'redirect_uri', 'code_verifier', 'refresh_token'];
const TOKEN_PARAM_FIELDS = ['token', 'token_type_hint', 'client_id', 'client_secret'];
const LIST_FIELDS = ['provider', 'end_user', 'status', 'cursor', 'limit'];
const IMPORT_FIELDS = ['provider', 'access_token', 'refresh_token', 'expires_in', 'scope', 'end_user_id', 'template_values'];

const ROUTES: Route[] = [
  { name: 'GET /.well-known/oauth-authorization-server', method: 'GET', path: '/.well-known/oauth-authorization-server', fields: [] },
  { name: 'GET /oauth/authorize', method: 'GET', path: '/oauth/authorize', page: true, fields: AUTHORIZE_FIELDS },
  { name: 'GET /oauth/authorize/connect', method: 'GET', path: '/oauth/authorize/connect', page: true, fields: ['request', 'provider'] },
  { name: 'GET /oauth/consent', method: 'GET', path: '/oauth/consent', page: true, fields: ['request'] },
  { name: 'POST /oauth/consent', method: 'POST', path: '/oauth/consent', page: true, fields: ['request', 'decision'], body: 'form' },
  { name: 'POST /oauth/token', method: 'POST', path: '/oauth/token', fields: TOKEN_FIELDS, body: 'form', auth: 'client' },
  { name: 'POST /oauth/introspect', method: 'POST', path: '/oauth/introspect', fields: TOKEN_PARAM_FIELDS, body: 'form', auth: 'client' },
  { name: 'POST /oauth/revoke', method: 'POST', path: '/oauth/revoke', fields: TOKEN_PARAM_FIELDS, body: 'form', auth: 'client' },
  { name: 'GET /v1/oauth/token', method: 'GET', path: '/v1/oauth/token', fields: [], auth: 'bearer' },
  { name: 'GET /connect/:provider', method: 'GET', path: '/connect/:provider', page: true, fields: ['app', 'session', 'login_hint', 'account_id', 'subdomain'] },
  { name: 'GET /connect/callback', method: 'GET', path: '/connect/callback', page: true, fields: ['code', 'state', 'error', 'error_description', 'iss'] },
  { name: 'GET /v1/accounts', method: 'GET', path: '/v1/accounts', fields: LIST_FIELDS, auth: 'bearer' },
  { name: 'POST /v1/accounts', method: 'POST', path: '/v1/accounts', fields: IMPORT_FIELDS, body: 'json', auth: 'bearer' },
  { name: 'GET /v1/accounts/:id', method: 'GET', path: '/v1/accounts/:id', fields: [], auth: 'bearer' },
  { name: 'PATCH /v1/accounts/:id', method: 'PATCH', path: '/v1/accounts/:id', fields: ['metadata'], body: 'json', auth: 'bearer' },
  // before DELETE /v1/accounts/:id, which releases the seeded account
  { name: 'GET /v1/accounts/:id/proxy/:path', method: 'GET', path: '/v1/accounts/:id/proxy/:path', fields: ['q', 'page'], auth: 'bearer', proxied: true },
  { name: 'POST /v1/accounts/:id/proxy/:path', method: 'POST', path: '/v1/accounts/:id/proxy/:path', fields: ['name', 'q'], body: 'json', auth: 'bearer', proxied: true },
  { name: 'POST /v1/accounts/:id/raw', method: 'POST', path: '/v1/accounts/:id/raw', fields: ['name'], body: 'json', auth: 'bearer', proxied: true },
  { name: 'GET /v1/accounts/:id/credentials', method: 'GET', path: '/v1/accounts/:id/credentials', fields: [], auth: 'bearer' },
  { name: 'DELETE /v1/accounts/:id', method: 'DELETE', path: '/v1/accounts/:id', fields: [], auth: 'bearer' },
  { name: 'GET /v1/accounts/:id/scopes', method: 'GET', path: '/v1/accounts/:id/scopes', fields: [], auth: 'bearer' },
  { name: 'POST /v1/connect/sessions', method: 'POST', path: '/v1/connect/sessions', fields: ['end_user', 'allowed_providers'], body: 'json', auth: 'bearer' },
  { name: 'GET /v1/end-users/:id/accounts', method: 'GET', path: '/v1/end-users/:id/accounts', fields: LIST_FIELDS, auth: 'bearer' },
  { name: 'DELETE /v1/end-users/:id/tokens', method: 'DELETE', path: '/v1/end-users/:id/tokens', fields: [], auth: 'bearer' },
  { name: 'GET /v1/audit', method: 'GET', path: '/v1/audit', fields: ['action', 'cursor', 'limit'], auth: 'bearer' },
  { name: 'PUT /v1/webhook', method: 'PUT', path: '/v1/webhook', fields: ['url'], body: 'json', auth: 'bearer' },
  { name: 'GET /v1/webhook', method: 'GET', path: '/v1/webhook', fields: [], auth: 'bearer' },
  { name: 'DELETE /v1/webhook', method: 'DELETE', path: '/v1/webhook', fields: [], auth: 'bearer' },
  { name: 'GET /v1/webhook/deliveries', method: 'GET', path: '/v1/webhook/deliveries', fields: ['status', 'cursor', 'limit'], auth: 'bearer' },
  { name: 'GET /healthz', method: 'GET', path: '/healthz', fields: [] },
  { name: 'GET /readyz', method: 'GET', path: '/readyz', fields: [] },
  { name: 'GET /static/gatehouse.css', method: 'GET', path: '/static/gatehouse.css', fields: [] },
];

/** What the fuzz knows is valid, so part of the cases get past authentication. */
interface Seeds {
  appId: string;
  clientSecret: string;
  apiKey: string;
  accessToken: string;
  sessionToken: string;
  accountId: string;
  endUserId: string;
  /** An access token the introspect and revoke cases may use up, so the others keep theirs. */
  spareToken: string;
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
}
interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  ms: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function send(base: URL, req: Sent): Promise<Answer> {
  if (req.body && req.body.length > BODY_LIMIT) return sendRaw(base, req);
  return sendOnce(base, req).catch((err: Error & { reused?: boolean }) => {
    // a kept-alive socket the server closed after its previous answer: Node's documented retry
    if (err.reused) return sendOnce(base, req, false);
    throw err;
  });
}

function sendOnce(base: URL, req: Sent, pooled = true): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (fn: () => void) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        fn();
      }
    };
    const timer = setTimeout(() => {
      done(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms (a hang)`)));
      outgoing.destroy();
    }, REQUEST_TIMEOUT_MS);
    const outgoing = http.request(
      { host: base.hostname, port: base.port, method: req.method, path: req.path, headers: req.headers, agent: pooled ? agent : false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () =>
          done(() =>
            resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started }),
          ),
        );
        response.on('error', (err) => done(() => reject(err)));
      },
    );
    outgoing.on('error', (err: Error & { code?: string; reused?: boolean }) => {
      if (outgoing.reusedSocket && (err.code === 'ECONNRESET' || err.message === 'socket hang up')) err.reused = true;
      done(() => reject(err));
    });
    if (req.body && req.method !== 'HEAD') outgoing.end(req.body);
    else outgoing.end();
  });
}

/**
 * An over-long body on a socket of its own: the server may answer 413 and close before it is all
 * written, which node:http reports as a write error rather than the answer; read the answer raw.
 */
function sendRaw(base: URL, req: Sent): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(base.port), base.hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      finish(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms (a hang)`));
    }, REQUEST_TIMEOUT_MS);
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      const head = raw.indexOf('\r\n\r\n');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
      if (!match || head < 0) return reject(err ?? new Error(`no HTTP answer (${JSON.stringify(raw.slice(0, 200))})`));
      const headers: http.IncomingHttpHeaders = {};
      for (const line of raw.slice(0, head).split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(match[1]), headers, text: Buffer.from(raw.slice(head + 4), 'latin1').toString('utf8'), ms: Date.now() - started });
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const raw = Buffer.concat(chunks).toString('latin1');
      const head = raw.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(raw.slice(0, head));
      if (head >= 0 && length && Buffer.byteLength(raw.slice(head + 4), 'latin1') >= Number(length[1])) {
        finish();
        socket.destroy();
      }
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish());
    const lines = [`${req.method} ${req.path} HTTP/1.1`, `host: ${base.host}`, 'connection: close'];
    for (const [k, v] of Object.entries(req.headers)) for (const one of ([] as string[]).concat(v)) lines.push(`${k}: ${one}`);
    socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
    socket.write(req.body!, () => {});
  });
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const PREFIXES = ['gha_', 'ghr_', 'ghk_', 'ghs_', 'ghcs_', 'ghac_'];
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('');

/** Valid-looking but random Gatehouse tokens. Only ever sent where nothing is logged (Authorization, token bodies). */
const randomToken = fc
  .tuple(fc.constantFrom(...PREFIXES), fc.array(fc.constantFrom(...B64URL), { minLength: 0, maxLength: 60 }), fc.boolean())
  .map(([p, cs, exact]) => p + (exact ? cs.concat(Array(43).fill('A')).slice(0, 43) : cs).join(''));

/** Strings that are not token-shaped (so no Gatehouse log ever mistakes them for a leaked token). */
const oddString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '', ' ', '\u0000', 'a\u0000b', '\u202Eevil\u202C', '\u200F\u05D0\u05D1', '😀', '👩‍👩‍👧‍👦', '\uD800', '\uDC00x', 'x\uDBFF',
      '\uFEFF', '\uFFFF', '\r\n', '%', '%00', '%zz', '..', '../..', '/', '//', '\\', '"', "'", '<script>', '{}', '[]', 'null', 'true',
      '-1', '0', '1e999', 'NaN', '9007199254740993', 'ａｄｍｉｎ', 'İ', 'ß', 'S256', 'plain', 'code', 'token', 'active', 'revoked',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 9000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }).map((n) => '\u00e9\u{1F600}'.repeat(n)) },
);

/** Field values: odd strings, and valid ones from the seeds so the fuzz goes deeper. */
function valueOf(seeds: Seeds): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: oddString },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        seeds.appId, seeds.accountId, seeds.endUserId, PROVIDER, 'testo', 'github', 'google', 'oidc', 'http://127.0.0.1:9/callback',
        'https://evil.example/cb', 'authorization_code', 'refresh_token', 'client_credentials', 'password', 'code', 'S256',
        'accounts:read', 'accounts:write', 'accounts:read accounts:write', 'proxy', 'allow', 'deny', 'access_token', '50', '1', '101',
      ),
    },
  );
}

/** Values for fields that carry secrets; never logged by Gatehouse (bodies and Authorization are not). */
function secretValueOf(seeds: Seeds): fc.Arbitrary<string> {
  return fc.oneof(randomToken, fc.constantFrom(seeds.spareToken, seeds.clientSecret, seeds.apiKey, seeds.sessionToken), oddString);
}
const SECRET_FIELDS = new Set(['token', 'client_secret', 'code', 'code_verifier', 'refresh_token', 'access_token', 'session_token', 'session']);

/** Sometimes a secret-carrying field or two with a token-like value. */
function withSecrets(seeds: Seeds): fc.Arbitrary<Record<string, string>> {
  return fc.dictionary(fc.constantFrom('access_token', 'refresh_token', 'token'), secretValueOf(seeds), { maxKeys: 2 });
}

/** Percent-encodes any string; a lone surrogate (which encodeURIComponent refuses) goes out as its raw (invalid) UTF-8. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...s]
      .map((ch) => {
        const code = ch.charCodeAt(0);
        if (ch.length === 1 && code >= 0xd800 && code <= 0xdfff) {
          return `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`;
        }
        return encodeURIComponent(ch);
      })
      .join('');
  }
}

const BAD_ESCAPES = ['%', '%2', '%zz', '%C3%28', '%ED%A0%80', '%C0%AF', '%FF%FE', '%E2%82', '%00', '%25%', '%u0041', '+%2B+'];

/** How a value goes out in a URL or form: encoded, raw, or with broken escapes. */
const encodingMode = fc.constantFrom('enc', 'enc', 'enc', 'raw', 'bad') as fc.Arbitrary<'enc' | 'raw' | 'bad'>;

function encodeAs(mode: 'enc' | 'raw' | 'bad', value: string, bad: string): string {
  if (mode === 'enc') return enc(value);
  // node:http refuses characters outside \x21-\xFF in a path; raw mode keeps what it allows
  if (mode === 'raw') return [...value].filter((c) => c.charCodeAt(0) > 0x20 && c.charCodeAt(0) <= 0xff && c !== '#').join('');
  return enc(value) + bad;
}

function pairsOf(route: Route, seeds: Seeds) {
  const name = fc.oneof(
    { weight: 8, arbitrary: route.fields.length ? fc.constantFrom(...route.fields) : fc.constant('x') },
    { weight: 1, arbitrary: fc.constantFrom('client_id', 'grant_type', 'redirect_uri', 'scope', '__proto__', 'constructor', '', '[]', 'a[b]') },
    { weight: 1, arbitrary: oddString },
  );
  return fc
    .array(name, { maxLength: 8 })
    .chain((names) =>
      fc.tuple(
        ...names.map((n) =>
          fc.tuple(fc.constant(n), SECRET_FIELDS.has(n) ? secretValueOf(seeds) : valueOf(seeds), encodingMode, fc.constantFrom(...BAD_ESCAPES)),
        ),
      ),
    )
    // repeat some of them (two client_id, two grant_type…)
    .chain((pairs) => fc.tuple(fc.constant(pairs), fc.boolean()).map(([p, dup]) => (dup && p.length ? [...p, ...p.slice(0, 2)] : p)));
}

type Pair = [string, string, 'enc' | 'raw' | 'bad', string];
const encodePairs = (pairs: Pair[]) =>
  pairs.map(([k, v, mode, bad]) => `${encodeAs(mode === 'raw' ? 'enc' : mode, k, '')}=${encodeAs(mode, v, bad)}`).join('&');

/**
 * A JSON value of the wrong type, or of the right one but odd. Never a token: a field such as
 * grant_type, scope or provider may be echoed in a logged error description, and the log scan
 * rightly fails on anything token-shaped; secrets go only in SECRET_FIELDS (see withSecrets).
 */
function jsonValueOf(seeds: Seeds): fc.Arbitrary<unknown> {
  return fc.oneof(
    valueOf(seeds),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(valueOf(seeds), { maxLength: 4 }),
    fc.dictionary(oddString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    fc.constant({ id: seeds.endUserId, email: 'a@b.c', name: '\u202Ename' }),
    fc.constant({ subdomain: 'x' }),
    fc.jsonValue({ maxDepth: 3 }),
  );
}

function jsonBodyOf(route: Route, seeds: Seeds): fc.Arbitrary<string> {
  const names = route.fields.length ? fc.constantFrom(...route.fields) : oddString;
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(fc.dictionary(fc.oneof(names, names, names, oddString), jsonValueOf(seeds), { maxKeys: 6 }), withSecrets(seeds))
        .map(([o, secrets]) => JSON.stringify({ ...o, ...secrets })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        JSON.stringify({ provider: PROVIDER, access_token: 'mock-access-token' }),
        JSON.stringify({ end_user: { id: seeds.endUserId }, allowed_providers: [PROVIDER] }),
        JSON.stringify({ metadata: { a: 1, '\u0000': '\uD800' } }),
        '{"metadata":{"__proto__":{"polluted":true}}}',
        '{"metadata":{"constructor":{"prototype":{"x":1}}}}',
        '{"provider":"test-oauth2","provider":"github","access_token":"x"}',
        '{"a":"\\ud800"}',
        '[]',
        '"str"',
        '0',
        'null',
        '{',
        '{"provider":',
        '{"provider":"tes',
        '{"a":1}}',
        '',
        '\uFEFF{}',
        `${'['.repeat(5000)}${']'.repeat(5000)}`,
        `{"metadata":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`,
      ),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null') },
  );
}

/** Arbitrary bytes, including invalid UTF-8 and a truncated body. */
const rawBytes = fc.oneof(
  fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)),
  fc.constantFrom(
    Buffer.from([0xc3, 0x28]),
    Buffer.from([0xed, 0xa0, 0x80]),
    Buffer.from([0xff, 0xfe, 0x00]),
    Buffer.from([0xc0, 0xaf]),
    Buffer.from('grant_type=client_credentials&scope=\xff\xfe', 'latin1'),
    Buffer.from('{"provider":"\xff"}', 'latin1'),
  ),
);

/** Over the 256 KiB limit; rare, they are slow to send. */
const oversized = fc.constantFrom(BODY_LIMIT + 1, BODY_LIMIT + 4096, 2 * BODY_LIMIT).map((n) => Buffer.alloc(n, 'a'));

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=UTF-8',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'application/x-www-form-urlencoded;;;',
  'application/vnd.api+json',
  'application/merge-patch+json',
  'text/plain',
  'text/html',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '*/*',
  'application/',
  ';',
  '',
  'x'.repeat(4000),
];

function authOf(route: Route, seeds: Seeds): fc.Arbitrary<string | string[] | undefined> {
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
  const valid =
    route.auth === 'client'
      ? fc.constantFrom(basic(seeds.appId, seeds.clientSecret), `Bearer ${seeds.apiKey}`)
      : fc.constantFrom(`Bearer ${seeds.apiKey}`, `Bearer ${seeds.accessToken}`, `bearer   ${seeds.apiKey}  `);
  return fc.oneof(
    { weight: route.auth ? 5 : 1, arbitrary: valid },
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ', 'Bearer', 'Token ', ''), randomToken).map(([s, t]) => s + t) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.oneof(fc.constant(seeds.appId), randomToken, oddString), fc.oneof(fc.constant(seeds.clientSecret), randomToken, oddString))
        .map(([id, secret]) => basic(id, secret)),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'Basic',
        'Basic ',
        'Basic ====',
        'Basic !!!',
        `Basic ${Buffer.from('no-colon').toString('base64')}`,
        `Basic ${Buffer.from('%zz:%E0%A4').toString('base64')}`,
        `Basic ${Buffer.from([0xff, 0x3a, 0xfe]).toString('base64')}`,
        `Basic ${'A'.repeat(8000)}`,
        `Bearer ${'A'.repeat(8000)}`,
        'Bearer \u00ff\u00fe',
        'Negotiate abc',
      ),
    },
    // two Authorization headers
    { weight: 1, arbitrary: fc.tuple(valid, fc.tuple(fc.constant('Bearer '), randomToken).map(([s, t]) => s + t)).map(([a, b]) => [a, b]) },
  );
}

/** A header value node:http lets out: \t and \x20-\xFF, latin1. */
const headerValue = oddString.map((s) => [...s].filter((c) => c === '\t' || (c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) <= 0xff && c.charCodeAt(0) !== 0x7f)).join('').trim());
const headerName = fc.oneof(
  fc.constantFrom('x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'host', 'cookie', 'accept', 'accept-encoding', 'origin', 'referer', 'x-api-key', 'transfer-encoding', 'expect', 'te', 'x-request-id', 'accept-charset', 'content-encoding'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
);
const extraHeaders = fc.array(fc.tuple(headerName, fc.oneof(headerValue, fc.constantFrom('gzip', 'chunked', '100-continue', 'deflate, br', '*/*', '127.0.0.1, ::1', 'gh_authz=x', `gh_authz=${'x'.repeat(2000)}`, 'x'.repeat(6000)))), { maxLength: 4 });

function pathOf(route: Route, seeds: Seeds): fc.Arbitrary<string> {
  const param = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(seeds.accountId, seeds.endUserId, PROVIDER, 'testo', 'github', 'callback') },
    { weight: 4, arbitrary: fc.tuple(oddString, encodingMode, fc.constantFrom(...BAD_ESCAPES)).map(([s, m, b]) => encodeAs(m, s, b) || 'x') },
    { weight: 1, arbitrary: fc.constantFrom('%2F', '%2e%2e', '..', '.', '%00', 'a%2Fb', 'x'.repeat(65), 'x'.repeat(300), '%E0%A4%A', '%') },
  );
  const filled = fc
    .tuple(...(route.path.split('/').map((seg) => (seg.startsWith(':') ? param : fc.constant(seg))) as [fc.Arbitrary<string>]))
    .map((segs) => segs.join('/'));
  // random paths under the route's prefix
  const under = fc
    .tuple(filled, fc.array(fc.tuple(oddString, encodingMode, fc.constantFrom(...BAD_ESCAPES)).map(([s, m, b]) => encodeAs(m, s, b)), { minLength: 1, maxLength: 3 }))
    .map(([p, extra]) => `${p}/${extra.join('/')}`);
  const twisted = filled.chain((p) =>
    fc.constantFrom(`${p}/`, `/${p}`, p.toUpperCase(), `${p}%20`, `${p};x=1`, `${p}/..`, `${p}/./`, p.replace(/\//g, '%2F'), `${p}#frag`, `${p}?`, `${p}??`, `${p}&`),
  );
  return fc.oneof({ weight: 7, arbitrary: filled }, { weight: 2, arbitrary: under }, { weight: 1, arbitrary: twisted });
}

const OTHER_METHODS = http.METHODS.filter((m) => m !== 'CONNECT');

function fuzzyRequestOf(route: Route, seeds: Seeds): fc.Arbitrary<Sent> {
  const method = fc.oneof({ weight: 8, arbitrary: fc.constant(route.method) }, { weight: 2, arbitrary: fc.constantFrom(...OTHER_METHODS) });
  const query = fc.oneof({ weight: 1, arbitrary: fc.constant('') }, { weight: 4, arbitrary: pairsOf(route, seeds).map((p) => encodePairs(p as Pair[])) });
  const body = fc.oneof(
    { weight: route.body === 'form' ? 6 : 1, arbitrary: pairsOf(route, seeds).map((p) => Buffer.from(encodePairs(p as Pair[]), 'latin1')) },
    { weight: route.body === 'json' ? 6 : 1, arbitrary: jsonBodyOf(route, seeds).map((s) => Buffer.from(s, 'utf8')) },
    // truncated form/JSON
    { weight: 1, arbitrary: fc.tuple(jsonBodyOf(route, seeds), fc.nat()).map(([s, n]) => Buffer.from(s.slice(0, s.length ? n % s.length : 0), 'utf8')) },
    { weight: 1, arbitrary: rawBytes },
    { weight: route.body ? 2 : 1, arbitrary: fc.constant(undefined) },
  );
  const contentType = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constant(route.body === 'json' ? 'application/json' : 'application/x-www-form-urlencoded') as fc.Arbitrary<string | string[] | undefined>,
    },
    { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...CONTENT_TYPES), fc.constantFrom(...CONTENT_TYPES)).map(([a, b]) => [a, b]) },
  );
  return fc
    .record({
      method,
      path: pathOf(route, seeds),
      query,
      body,
      big: fc.oneof({ weight: 199, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: oversized }),
      contentType,
      authorization: authOf(route, seeds),
      extra: extraHeaders,
      cookie: fc.option(fc.oneof(fc.constant('gh_authz='), oddString.map((s) => `gh_authz=${enc(s)}`), randomToken.map((t) => `gh_authz=${t}`)), { nil: undefined }),
    })
    .map((r) => {
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of r.extra) {
        // node:http computes these itself; sending them wrong is the case we skip (see the brief)
        if (k === 'content-length' || k === 'transfer-encoding' || k === 'host' || k === 'expect') continue;
        headers[k] = k in headers ? ([] as string[]).concat(headers[k]!, v) : v;
      }
      if (r.authorization !== undefined) headers.authorization = r.authorization;
      if (r.cookie !== undefined) headers.cookie = r.cookie;
      const body = r.big ?? r.body;
      if (body !== undefined && r.contentType !== undefined) headers['content-type'] = r.contentType;
      // node:http sends no Content-Length for a GET body by itself (the bytes would open the next request)
      if (body !== undefined && r.method !== 'HEAD') headers['content-length'] = String(body.length);
      let path = r.query ? `${r.path}${r.path.includes('?') ? '&' : '?'}${r.query}` : r.path;
      // stay within Node's 16 KiB header limit (a 431 from Node's parser is not Gatehouse's answer)
      const headerBytes = () => Object.entries(headers).reduce((n, [k, v]) => n + ([] as string[]).concat(v).reduce((m, one) => m + k.length + one.length + 4, 0), 0);
      for (const k of Object.keys(headers)) if (headerBytes() > 12_000 && !['authorization', 'content-type', 'content-length'].includes(k)) delete headers[k];
      if (path.length + headerBytes() > 14_000) path = path.slice(0, Math.max(1, 14_000 - headerBytes()));
      const sent: Sent = { method: r.method, path, headers, body: r.method === 'HEAD' ? undefined : body };
      return printable(sent);
    });
}

/** fast-check prints a counterexample with this, short. */
function printable(sent: Sent): Sent {
  Object.defineProperty(sent, fc.toStringMethod, { value: () => describeCase(sent), enumerable: false });
  return sent;
}

/** A valid request of each route (its parameters, or its body), which the near-valid cases mutate a little. */
function validOf(route: Route, seeds: Seeds): { path: string; params: Record<string, unknown> } | undefined {
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
  const path = route.path
    .replace(':provider', PROVIDER)
    .replace(':id', route.path.startsWith('/v1/end-users') ? seeds.endUserId : seeds.accountId)
    .replace(':path', 'user');
  const params: Record<string, Record<string, unknown>> = {
    'GET /oauth/authorize': {
      response_type: 'code', client_id: seeds.appId, redirect_uri: 'http://127.0.0.1:9/callback', scope: 'accounts:read', state: 'st-1',
      code_challenge: challenge, code_challenge_method: 'S256', provider: PROVIDER, session_token: seeds.sessionToken,
    },
    'GET /oauth/authorize/connect': { request: 'req_0123456789abcdef', provider: PROVIDER },
    'GET /oauth/consent': { request: 'req_0123456789abcdef' },
    'POST /oauth/consent': { request: 'req_0123456789abcdef', decision: 'allow' },
    'POST /oauth/token': { grant_type: 'client_credentials', scope: 'accounts:read' },
    'POST /oauth/introspect': { token: seeds.spareToken, token_type_hint: 'access_token' },
    'POST /oauth/revoke': { token: seeds.spareToken, token_type_hint: 'access_token' },
    'GET /connect/:provider': { app: seeds.appId, session: seeds.sessionToken, login_hint: 'octo', account_id: seeds.accountId },
    'GET /connect/callback': { code: 'c0de', state: 'st4te', iss: 'http://127.0.0.1' },
    'GET /v1/accounts': { provider: PROVIDER, end_user: seeds.endUserId, status: 'active', limit: 10 },
    'POST /v1/accounts': { provider: PROVIDER, access_token: 'mock-access-token', end_user_id: seeds.endUserId, scope: 'repo', expires_in: 3600 },
    'PATCH /v1/accounts/:id': { metadata: { team: 'a', n: 1, nested: { ok: true } } },
    'POST /v1/connect/sessions': { end_user: { id: seeds.endUserId, email: 'u@example.test', name: 'U' }, allowed_providers: [PROVIDER] },
    'GET /v1/end-users/:id/accounts': { status: 'active', limit: 5 },
    'GET /v1/audit': { action: 'account.imported', limit: 5 },
  };
  return { path, params: params[route.name] ?? {} };
}

type Mutation = ['odd' | 'wrong' | 'drop' | 'dup', string, unknown];

/** A valid request with one or two of its parameters changed: odd value, wrong type, dropped, or sent twice. */
function nearValidOf(route: Route, seeds: Seeds): fc.Arbitrary<Sent> {
  const valid = validOf(route, seeds)!;
  const keys = [...Object.keys(valid.params), ...route.fields, 'unexpected'];
  const mutation: fc.Arbitrary<Mutation> = fc.tuple(
    fc.constantFrom('odd', 'odd', 'wrong', 'drop', 'dup') as fc.Arbitrary<Mutation[0]>,
    fc.constantFrom(...keys),
    fc.oneof(oddString, jsonValueOf(seeds), secretValueOf(seeds)),
  ).map(([kind, key, value]): Mutation => [kind, key, SECRET_FIELDS.has(key) || typeof value !== 'string' || !/^gh[a-z]{1,3}_/.test(value) ? value : 'not-a-token']);
  return fc.tuple(fc.array(mutation, { maxLength: 2 }), authOf(route, seeds), fc.boolean()).map(([mutations, randomAuth, useRandomAuth]) => {
    const params: Record<string, unknown> = { ...valid.params };
    const twice: [string, unknown][] = [];
    for (const [kind, key, value] of mutations) {
      if (kind === 'drop') delete params[key];
      else if (kind === 'dup') twice.push([key, key in params ? params[key] : value]);
      else if (kind === 'odd') params[key] = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
      else params[key] = value;
    }
    const headers: Record<string, string | string[]> = {};
    const auth = route.auth === 'client'
      ? `Basic ${Buffer.from(`${seeds.appId}:${seeds.clientSecret}`).toString('base64')}`
      : route.auth === 'bearer' ? `Bearer ${seeds.apiKey}` : undefined;
    const authorization = useRandomAuth && mutations.length === 0 ? randomAuth : auth;
    if (authorization !== undefined) headers.authorization = authorization;
    const flat = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '');
    const form = [...Object.entries(params), ...twice].map(([k, v]) => `${enc(k)}=${enc(flat(v))}`).join('&');
    let path = valid.path;
    let body: Buffer | undefined;
    if (route.body === 'json') {
      let text = JSON.stringify(params);
      for (const [k, v] of twice) text = `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}}`;
      body = Buffer.from(text, 'utf8');
      headers['content-type'] = 'application/json';
    } else if (route.body === 'form') {
      body = Buffer.from(form, 'latin1');
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (form) {
      path = `${path}?${form}`;
    }
    if (body !== undefined) headers['content-length'] = String(body.length);
    return printable({ method: route.method, path: path.slice(0, 12_000), headers, body });
  });
}

function requestOf(route: Route, seeds: Seeds): fc.Arbitrary<Sent> {
  const near = validOf(route, seeds);
  if (!near || (Object.keys(near.params).length === 0 && !route.path.includes(':'))) return fuzzyRequestOf(route, seeds);
  return fc.oneof({ weight: 3, arbitrary: fuzzyRequestOf(route, seeds) }, { weight: 2, arbitrary: nearValidOf(route, seeds) });
}

// ---------------------------------------------------------------------------------------------
// The property

interface Tally {
  cases: number;
  maxStatus: number;
  statuses: Map<number, number>;
  fivexx: number;
  slowestMs: number;
}
const tallies = new Map<string, Tally>();

function describeCase(req: Sent, answer?: Answer): string {
  const body = req.body ? (req.body.length > 300 ? `${req.body.subarray(0, 300).toString('latin1')}… (${req.body.length} bytes)` : req.body.toString('latin1')) : '';
  const head = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v).slice(0, 200)]));
  return `${req.method} ${req.path.slice(0, 500)}\n${JSON.stringify(head)}\n${body}${answer ? `\n→ ${answer.status} ${answer.text.slice(0, 500)}` : ''}`;
}

/** Everything a response must be, whatever the request. */
function check(route: Route, req: Sent, answer: Answer) {
  const where = () => describeCase(req, answer);
  // the provider's own answer, whatever it is (Gatehouse's own errors on these routes carry no Via)
  if (route.proxied && String(answer.headers.via ?? '').endsWith('1.1 gatehouse')) return;
  expect(answer.status, where()).toBeLessThan(500);
  expect(answer.status, where()).toBeGreaterThanOrEqual(200);
  if (answer.status === 401) expect(answer.headers['www-authenticate'], where()).toBeTruthy();
  if (answer.status >= 300 && answer.status < 400) {
    expect(route.page, `only page routes redirect\n${where()}`).toBe(true);
    expect(answer.headers.location, where()).toBeTruthy();
  }
  if (answer.status >= 400 && req.method !== 'HEAD') {
    const type = String(answer.headers['content-type'] ?? '');
    if (route.page && type.startsWith('text/html')) {
      expect(answer.text, where()).toMatch(/Reference: <code>[0-9a-f-]{36}<\/code>/);
      return;
    }
    expect(type, where()).toMatch(/^application\/json/);
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      throw new Error(`a ${answer.status} that is not JSON\n${where()}`);
    }
    expect(parsed, where()).toEqual({ error: expect.any(String), error_description: expect.any(String) });
    expect(Object.keys(parsed as object).sort(), where()).toEqual(['error', 'error_description']);
  }
}

describe('fuzzing every route of a running Gatehouse (sqlite)', () => {
  let gatehouse: RunningGatehouse;
  let upstream: OAuth2Upstream;
  let base: URL;
  let seeds: Seeds;

  beforeAll(async () => {
    upstream = await startOAuth2Upstream();
    gatehouse = await startGatehouse({
      kind: 'sqlite',
      providersDir: upstream.providersDir,
      // thousands of requests a minute from one address: limits would answer 429 to most of the fuzz
      env: { GATEHOUSE_RATE_LIMITS: 'off' },
    });
    // Long runs would write gigabytes of request logs; the default run keeps them for the log scan.
    if (RUNS > 1000) gatehouse.services.logger.level = 'warn';
    base = new URL(gatehouse.url);
    const created = await registerApp(gatehouse.services, `fuzz-${randomBytes(3).toString('hex')}`);
    await integrate(gatehouse.services, created.app.id, PROVIDER, { clientId: 'mock-client', clientSecret: MOCK_SECRET });
    const json = async (method: string, path: string, headers: Record<string, string>, body: string) => {
      const answer = await send(base, { method, path, headers, body: Buffer.from(body) });
      expect(answer.status, answer.text).toBeLessThan(300);
      return JSON.parse(answer.text) as Record<string, string>;
    };
    const bearer = { authorization: `Bearer ${created.apiKey}`, 'content-type': 'application/json' };
    const endUserId = 'fuzz-user-1';
    const account = await json('POST', '/v1/accounts', bearer, JSON.stringify({ provider: PROVIDER, access_token: 'mock-access-token', end_user_id: endUserId }));
    const session = await json('POST', '/v1/connect/sessions', bearer, JSON.stringify({ end_user: { id: endUserId } }));
    const basic = `Basic ${Buffer.from(`${created.app.id}:${created.clientSecret}`).toString('base64')}`;
    const mint = () => json('POST', '/oauth/token', { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=client_credentials');
    const token = await mint();
    const spare = await mint();
    recordSecret(session.token, token.access_token, spare.access_token);
    seeds = {
      appId: created.app.id,
      clientSecret: created.clientSecret!,
      apiKey: created.apiKey,
      accessToken: token.access_token!,
      sessionToken: session.token!,
      accountId: account.id!,
      endUserId,
      spareToken: spare.access_token!,
    };
  });

  afterAll(async () => {
    recordSecret(...(upstream?.issuedTokens() ?? []));
    agent.destroy();
    await gatehouse?.close();
    await upstream?.close();
    const rows = [...tallies].map(([route, t]) => ({
      route,
      cases: t.cases,
      'max status': t.maxStatus,
      '5xx': t.fivexx,
      'slowest ms': t.slowestMs,
      statuses: [...t.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' '),
    }));
    const total = rows.reduce((n, r) => n + r.cases, 0);
    const lines = [
      `fuzz totals (FUZZ_RUNS=${RUNS}; ${total} requests)`,
      `${'route'.padEnd(44)} ${'cases'.padStart(6)} ${'max'.padStart(4)} ${'5xx'.padStart(4)} ${'slow'.padStart(6)}  statuses`,
      ...rows.map((r) => `${r.route.padEnd(44)} ${String(r.cases).padStart(6)} ${String(r['max status']).padStart(4)} ${String(r['5xx']).padStart(4)} ${String(r['slowest ms']).padStart(6)}  ${r.statuses}`),
    ];
    console.log(lines.join('\n'));
  });

  it.each(ROUTES.map((r) => [r.name, r] as const))(
    '%s: never a 5xx, never a hang, errors in the documented shape',
    async (_name, route) => {
      const tally: Tally = { cases: 0, maxStatus: 0, statuses: new Map(), fivexx: 0, slowestMs: 0 };
      tallies.set(route.name, tally);
      await fc.assert(
        fc.asyncProperty(requestOf(route, seeds), async (req) => {
          let answer: Answer;
          try {
            answer = await send(base, req);
          } catch (err) {
            throw new Error(`${(err as Error).message}\n${describeCase(req)}`);
          }
          tally.cases += 1;
          tally.maxStatus = Math.max(tally.maxStatus, answer.status);
          tally.statuses.set(answer.status, (tally.statuses.get(answer.status) ?? 0) + 1);
          tally.slowestMs = Math.max(tally.slowestMs, answer.ms);
          if (answer.status >= 500) tally.fivexx += 1;
          check(route, req, answer);
        }),
        { numRuns: RUNS, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
      );
    },
    60_000 + RUNS * 60,
  );
});
