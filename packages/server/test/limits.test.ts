import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type CreatedApp } from '../src/authorization/index.ts';
import { ConfigError, DEFAULT_RATE_LIMITS, loadConfig } from '../src/config.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });

async function expectLimited(response: Response) {
  expect(response.status).toBe(429);
  const retryAfter = response.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);
  expect(response.headers.get('cache-control')).toBe('no-store');
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body).toEqual({ error: 'too_many_requests', error_description: expect.stringMatching(/retry in \d+ s/) });
}

async function makeApp(gatehouse: RunningGatehouse, name: string): Promise<CreatedApp> {
  const created = await createApp(gatehouse.services, {
    name,
    redirectUris: ['http://127.0.0.1:9/cb'],
    scopes: ['accounts:read'],
    defaultScopes: ['accounts:read'],
  });
  recordSecret(created.clientSecret, created.apiKey);
  return created;
}

describe('rate limit configuration', () => {
  const configError = (env: NodeJS.ProcessEnv) => {
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('loadConfig accepted it');
  };

  it('has generous defaults, reads per-client[/per-IP] per minute, and can be turned off', () => {
    expect(loadConfig({}).rateLimits).toEqual(DEFAULT_RATE_LIMITS);
    const limits = loadConfig({ GATEHOUSE_RATE_LIMIT_TOKEN: '5', GATEHOUSE_RATE_LIMIT_API: '7/9' }).rateLimits!;
    expect(limits.token).toEqual({ perClient: 5, perIp: 10 });
    expect(limits.api).toEqual({ perClient: 7, perIp: 9 });
    expect(limits.authorize).toEqual(DEFAULT_RATE_LIMITS.authorize);
    expect(loadConfig({ GATEHOUSE_RATE_LIMITS: 'off' }).rateLimits).toBeNull();
  });

  it('names the variable at fault', () => {
    expect(configError({ GATEHOUSE_RATE_LIMITS: 'no' }).variable).toBe('GATEHOUSE_RATE_LIMITS');
    for (const bad of ['0', 'lots', '5/0', '-1', '1.5', '5/']) {
      expect(configError({ GATEHOUSE_RATE_LIMIT_CONNECT: bad }).variable).toBe('GATEHOUSE_RATE_LIMIT_CONNECT');
    }
    expect(configError({ GATEHOUSE_METRICS_TOKEN: 'short' }).variable).toBe('GATEHOUSE_METRICS_TOKEN');
  });
});

describe.each(STORE_KINDS)('per-client rate limits on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let first: CreatedApp;
  let second: CreatedApp;

  beforeAll(async () => {
    gatehouse = await startGatehouse({
      kind,
      env: { GATEHOUSE_RATE_LIMIT_TOKEN: '3/1000', GATEHOUSE_RATE_LIMIT_INTROSPECT: '3/1000', GATEHOUSE_RATE_LIMIT_API: '3/1000' },
    });
    first = await makeApp(gatehouse, 'first');
    second = await makeApp(gatehouse, 'second');
  });
  afterAll(() => gatehouse?.close());

  const token = (headers: Record<string, string>, body: Record<string, string> = {}) =>
    fetch(`${gatehouse.url}/oauth/token`, {
      method: 'POST',
      headers: { ...form, ...headers },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...body }),
    });

  it('the token endpoint: N requests per client, then 429; another client, or a wrong secret, is not affected', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await token(basic(first.app.id, first.clientSecret!));
      expect(response.status).toBe(200);
      recordSecret(((await response.json()) as { access_token: string }).access_token);
    }
    await expectLimited(await token(basic(first.app.id, first.clientSecret!)));
    // the same client through client_secret_post is the same bucket
    await expectLimited(await token({}, { client_id: first.app.id, client_secret: first.clientSecret! }));

    const other = await token(basic(second.app.id, second.clientSecret!));
    expect(other.status).toBe(200);
    recordSecret(((await other.json()) as { access_token: string }).access_token);
    // naming the exhausted client with a wrong secret is a bucket of its own: refused as invalid, not limited
    expect((await token(basic(first.app.id, 'ghcs_wrong-secret-guess'))).status).toBe(401);
  });

  it('introspection and revocation share one bucket per client', async () => {
    const call = (path: string, app: CreatedApp) =>
      fetch(`${gatehouse.url}${path}`, { method: 'POST', headers: { ...form, ...basic(app.app.id, app.clientSecret!) }, body: new URLSearchParams({ token: 'gha_nothing' }) });
    expect((await call('/oauth/introspect', first)).status).toBe(200);
    expect((await call('/oauth/revoke', first)).status).toBe(200);
    expect((await call('/oauth/introspect', first)).status).toBe(200);
    await expectLimited(await call('/oauth/revoke', first));
    expect((await call('/oauth/introspect', second)).status).toBe(200);
  });

  it('the API: N requests per API key or token, then 429; another key is not affected', async () => {
    const api = (key: string, path = '/v1/accounts') => fetch(`${gatehouse.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    expect((await api(first.apiKey)).status).toBe(200);
    expect((await api(first.apiKey, '/v1/accounts/acc_missing')).status).toBe(404);
    expect((await api(first.apiKey)).status).toBe(200);
    const limited = await api(first.apiKey);
    await expectLimited(limited);
    expect((await api(second.apiKey)).status).toBe(200);
  });

  it('probes are never limited', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await fetch(`${gatehouse.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${gatehouse.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${gatehouse.url}/metrics`)).status).toBe(200);
    }
  });
});

describe.each(STORE_KINDS)('per-IP rate limits on %s', (kind) => {
  let gatehouse: RunningGatehouse;

  beforeAll(async () => {
    gatehouse = await startGatehouse({
      kind,
      env: {
        GATEHOUSE_RATE_LIMIT_TOKEN: '1000/4',
        GATEHOUSE_RATE_LIMIT_AUTHORIZE: '1000/3',
        GATEHOUSE_RATE_LIMIT_INTROSPECT: '1000/3',
        GATEHOUSE_RATE_LIMIT_CONNECT: '1000/3',
        GATEHOUSE_RATE_LIMIT_API: '1000/3',
      },
    });
  });
  afterAll(() => gatehouse?.close());

  const stranger = () => `app_${randomBytes(6).toString('hex')}`;

  it('the token endpoint: N requests per IP whichever clients they name, then 429', async () => {
    const post = () =>
      fetch(`${gatehouse.url}/oauth/token`, { method: 'POST', headers: { ...form, ...basic(stranger(), 'ghcs_x') }, body: 'grant_type=client_credentials' });
    for (let i = 0; i < 4; i++) expect((await post()).status).toBe(401);
    await expectLimited(await post());
    // the other groups have buckets of their own
    expect((await fetch(`${gatehouse.url}/oauth/introspect`, { method: 'POST', headers: form, body: 'token=x' })).status).toBe(401);
  });

  it('introspection and revocation: N requests per IP whichever clients they name, then 429', async () => {
    const post = (path: string) => fetch(`${gatehouse.url}${path}`, { method: 'POST', headers: { ...form, ...basic(stranger(), 'ghcs_x') }, body: 'token=x' });
    // one was spent by the token endpoint test above
    expect((await post('/oauth/introspect')).status).toBe(401);
    expect((await post('/oauth/revoke')).status).toBe(401);
    await expectLimited(await post('/oauth/revoke'));
  });

  it('the authorization pages (authorize, consent, authorize/connect) share one bucket per IP', async () => {
    expect((await fetch(`${gatehouse.url}/oauth/authorize?client_id=${stranger()}`, { redirect: 'manual' })).status).toBeLessThan(429);
    expect((await fetch(`${gatehouse.url}/oauth/consent?request=nope`, { redirect: 'manual' })).status).toBeLessThan(429);
    expect((await fetch(`${gatehouse.url}/oauth/authorize/connect?request=nope&provider=github`, { redirect: 'manual' })).status).toBeLessThan(429);
    await expectLimited(await fetch(`${gatehouse.url}/oauth/authorize?client_id=${stranger()}`, { redirect: 'manual' }));
  });

  it('the connect endpoints: N requests per IP, then 429', async () => {
    for (let i = 0; i < 3; i++) expect((await fetch(`${gatehouse.url}/connect/callback?state=x`, { redirect: 'manual' })).status).toBeLessThan(429);
    await expectLimited(await fetch(`${gatehouse.url}/connect/github?app=${stranger()}`, { redirect: 'manual' }));
  });

  it('the API: N requests per IP whichever keys they carry, then 429', async () => {
    const api = () => fetch(`${gatehouse.url}/v1/accounts`, { headers: { authorization: `Bearer ghk_${randomBytes(8).toString('hex')}` } });
    for (let i = 0; i < 3; i++) expect((await api()).status).toBe(401);
    await expectLimited(await api());
    expect((await fetch(`${gatehouse.url}/healthz`)).status).toBe(200);
  });
});

describe.each(STORE_KINDS)('rate limits turned off on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  beforeAll(async () => {
    gatehouse = await startGatehouse({ kind, env: { GATEHOUSE_RATE_LIMITS: 'off', GATEHOUSE_RATE_LIMIT_TOKEN: '1/1' } });
  });
  afterAll(() => gatehouse?.close());

  it('GATEHOUSE_RATE_LIMITS=off never answers 429', async () => {
    const app = await makeApp(gatehouse, 'unlimited');
    for (let i = 0; i < 15; i++) {
      const response = await fetch(`${gatehouse.url}/oauth/token`, {
        method: 'POST',
        headers: { ...form, ...basic(app.app.id, app.clientSecret!) },
        body: 'grant_type=client_credentials',
      });
      expect(response.status).toBe(200);
      recordSecret(((await response.json()) as { access_token: string }).access_token);
      expect((await fetch(`${gatehouse.url}/connect/callback?state=x`)).status).not.toBe(429);
    }
  });
});
