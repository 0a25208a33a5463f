import http from 'node:http';
import fc from 'fast-check';
import { describeCase, type Sent } from './client.ts';
import { BAD_ESCAPES, CONTENT_TYPES, enc, encodeAs, encodingMode, extraHeaders, oddString, oversized, randomToken, rawBytes } from './arbitraries.ts';
import type { Route } from './routes.ts';

// The fuzz's requests: malformed and random ones for any route, and near-valid ones (a valid
// request with one or two things changed) for the routes VALID knows.

export const PROVIDER = 'test-oauth2';

/** What the fuzz knows is valid, so part of the cases get past authentication. */
export interface Seeds {
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

// Arbitraries

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

function pathOf(route: Route, seeds: Seeds): fc.Arbitrary<string> {
  const param = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(seeds.accountId, seeds.endUserId, PROVIDER, 'testo', 'github', 'callback') },
    { weight: 4, arbitrary: fc.tuple(oddString, encodingMode, fc.constantFrom(...BAD_ESCAPES)).map(([s, m, b]) => encodeAs(m, s, b) || 'x') },
    { weight: 1, arbitrary: fc.constantFrom('%2F', '%2e%2e', '..', '.', '%00', 'a%2Fb', 'x'.repeat(65), 'x'.repeat(300), '%E0%A4%A', '%') },
  );
  const filled = fc
    .tuple(...(route.path.split('/').map((seg) => (seg.startsWith(':') || seg === '*' ? param : fc.constant(seg))) as [fc.Arbitrary<string>]))
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
    .replace(/\*$/, 'user');
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
    'PUT /v1/webhook': { url: 'http://127.0.0.1:9/hook' },
    'GET /v1/webhook/deliveries': { status: 'pending', limit: 5 },
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

export function requestOf(route: Route, seeds: Seeds): fc.Arbitrary<Sent> {
  const near = validOf(route, seeds);
  if (!near || (Object.keys(near.params).length === 0 && !/[:*]/.test(route.path))) return fuzzyRequestOf(route, seeds);
  return fc.oneof({ weight: 3, arbitrary: fuzzyRequestOf(route, seeds) }, { weight: 2, arbitrary: nearValidOf(route, seeds) });
}
