import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrate, registerApp } from '../support/fixtures.ts';
import { startGatehouse } from '../support/gatehouse.ts';
import { recordSecret } from '../support/secrets.ts';
import { startOAuth2Upstream } from '../support/upstreams.ts';
import { agent, describeCase, send, type Answer, type Sent } from './client.ts';
import { PROVIDER, requestOf, type Seeds } from './requests.ts';
import { documents, ownerOf, routesOf, type Route } from './routes.ts';

// Property-based fuzzing of every route of a running Gatehouse over real HTTP. The routes are
// the ones the app registered (its onRoute hook), so a route added later is fuzzed without an
// edit here. Every answer must come within REQUEST_TIMEOUT_MS, never be a 5xx, have a status
// the route's OpenAPI operation lists, and every 4xx must have the documented RFC 6749 shape
// (or, on the page routes, be an HTML error page with a reference id); a 401 names its scheme.
// FUZZ_RUNS sets the cases per route (default 200; `npm run fuzz` runs 10,000).

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 200) || 200);
const MOCK_SECRET = 'mock-client-secret-fuzz-0123456789';

const upstream = await startOAuth2Upstream();
const gatehouse = await startGatehouse({
  kind: 'sqlite',
  providersDir: upstream.providersDir,
  // thousands of requests a minute from one address: limits would answer 429 to most of the fuzz
  env: { GATEHOUSE_RATE_LIMITS: 'off' },
});
const base = new URL(gatehouse.url);
const ROUTES = routesOf(gatehouse.app, gatehouse.url);

// ---------------------------------------------------------------------------------------------
// The property

interface Tally {
  cases: number;
  maxStatus: number;
  statuses: Map<number, number>;
  /** 5xx answers of Gatehouse's own (must stay 0). */
  fivexx: number;
  /** The provider's own answers passed through by the proxy (marked Via), whatever their status. */
  passedThrough: number;
  slowestMs: number;
}
const tallies = new Map<string, Tally>();

/** The provider's own answer, passed through by the proxy (Gatehouse's own answers on these routes carry no Via). */
const passedThrough = (route: Route, answer: Answer) => route.proxied && String(answer.headers.via ?? '').endsWith('1.1 gatehouse');

/** Everything a response must be, whatever the request. */
function check(route: Route, req: Sent, answer: Answer) {
  const where = () => describeCase(req, answer);
  if (passedThrough(route, answer)) return;
  expect(answer.status, where()).toBeLessThan(500);
  expect(answer.status, where()).toBeGreaterThanOrEqual(200);
  // a request that certainly reached a route (its method, a path its pattern matches) gets a documented status
  const owner = ownerOf(ROUTES, req.method, req.path.split('?')[0]!);
  if (owner) expect(documents(owner, answer.status), `${answer.status} is not in the OpenAPI document of ${owner.name}: ${[...owner.documented]}\n${where()}`).toBe(true);
  if (answer.status === 401) expect(answer.headers['www-authenticate'], where()).toBeTruthy();
  if (answer.status >= 300 && answer.status < 400) {
    expect(route.page || (owner !== undefined && documents(owner, answer.status)), `only page routes and documented redirects\n${where()}`).toBe(true);
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
  let seeds: Seeds;

  it('knows every route of the app', () => {
    expect(ROUTES.length).toBeGreaterThan(20);
    for (const name of ['POST /oauth/token', 'GET /oauth/authorize', 'GET /v1/accounts/:id', 'GET /docs/openapi.json', 'GET /metrics']) {
      expect(ROUTES.map((r) => r.name)).toContain(name);
    }
  });

  beforeAll(async () => {
    // Long runs would write gigabytes of request logs; the default run keeps them for the log scan.
    if (RUNS > 1000) gatehouse.services.logger.level = 'warn';
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
      via: t.passedThrough,
      'slowest ms': t.slowestMs,
      statuses: [...t.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' '),
    }));
    const total = rows.reduce((n, r) => n + r.cases, 0);
    const lines = [
      `fuzz totals (FUZZ_RUNS=${RUNS}; ${total} requests)`,
      `${'route'.padEnd(44)} ${'cases'.padStart(6)} ${'max'.padStart(4)} ${'5xx'.padStart(4)} ${'via'.padStart(5)} ${'slow'.padStart(6)}  statuses`,
      ...rows.map((r) => `${r.route.padEnd(44)} ${String(r.cases).padStart(6)} ${String(r['max status']).padStart(4)} ${String(r['5xx']).padStart(4)} ${String(r.via).padStart(5)} ${String(r['slowest ms']).padStart(6)}  ${r.statuses}`),
    ];
    console.log(lines.join('\n'));
  });

  it.each(ROUTES.map((r) => [r.name, r] as const))(
    '%s: never a 5xx, never a hang, errors in the documented shape',
    async (_name, route) => {
      const tally: Tally = { cases: 0, maxStatus: 0, statuses: new Map(), fivexx: 0, passedThrough: 0, slowestMs: 0 };
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
          if (passedThrough(route, answer)) tally.passedThrough += 1;
          else if (answer.status >= 500) tally.fivexx += 1;
          check(route, req, answer);
        }),
        { numRuns: RUNS, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
      );
    },
    60_000 + RUNS * 60,
  );
});
