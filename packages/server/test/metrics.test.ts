import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type CreatedApp } from '../src/authorization/index.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';
import { seedAccount } from './support/fixtures.ts';

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

/** The value of one sample line of the exposition, or undefined when absent. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe.each(STORE_KINDS)('/metrics on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let other: RunningGatehouse;
  let app: CreatedApp;

  beforeAll(async () => {
    [gatehouse, other] = await Promise.all([startGatehouse({ kind }), startGatehouse({ kind })]);
    app = await makeApp(gatehouse, 'metered');
  });
  afterAll(async () => {
    await gatehouse?.close();
    await other?.close();
  });

  const scrape = async (target: RunningGatehouse = gatehouse) => {
    const response = await fetch(`${target.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  it('exposes the five families operators need: latency by route, tokens by grant, refresh outcomes, accounts by status, webhook deliveries', async () => {
    const text = await scrape();
    const families: [string, string, string][] = [
      ['gatehouse_http_request_duration_seconds', 'histogram', 'route'],
      ['gatehouse_tokens_issued_total', 'counter', 'grant_type'],
      ['gatehouse_refresh_total', 'counter', 'outcome'],
      ['gatehouse_accounts', 'gauge', 'status'],
      ['gatehouse_webhook_deliveries_total', 'counter', 'outcome'],
    ];
    for (const [name, type, label] of families) {
      expect(text, name).toContain(`# TYPE ${name} ${type}`);
      expect(text, name).toMatch(new RegExp(`^# HELP ${name} .+`, 'm'));
      expect(text.split('\n').filter((l) => l.startsWith(`${name}{`) && !l.includes(`${label}=`)), `${name} is labelled by ${label}`).toEqual([]);
    }
  });

  it('times requests by method, route pattern and status, never by raw URL', async () => {
    const seed = (subject: string) => seedAccount(gatehouse.services.db, app.app.id, subject);
    const account = await seed('timed');
    const get = (path: string) => fetch(`${gatehouse.url}${path}`, { headers: { authorization: `Bearer ${app.apiKey}` } });
    expect((await get(`/v1/accounts/${account.id}`)).status).toBe(200);
    expect((await get(`/v1/accounts/${account.id}`)).status).toBe(200);
    expect((await get('/v1/accounts/acc_missing')).status).toBe(404);
    expect((await fetch(`${gatehouse.url}/no/such/path/acc_secretish`)).status).toBe(404);

    const text = await scrape();
    expect(text).toContain('# TYPE gatehouse_http_request_duration_seconds histogram');
    expect(sample(text, 'gatehouse_http_request_duration_seconds_count', 'method="GET",route="/v1/accounts/:id",status_code="200"')).toBe(2);
    expect(sample(text, 'gatehouse_http_request_duration_seconds_count', 'method="GET",route="/v1/accounts/:id",status_code="404"')).toBe(1);
    expect(text).toMatch(/gatehouse_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/v1\/accounts\/:id",status_code="200"\} \d+/);
    expect(text).toContain('route="unmatched"');
    expect(text).not.toContain(account.id);
    expect(text).not.toContain('acc_missing');
    expect(text).not.toContain('acc_secretish');
  });

  it('counts tokens issued by grant type', async () => {
    const before = sample(await scrape(), 'gatehouse_tokens_issued_total', 'grant_type="client_credentials"') ?? 0;
    const basic = `Basic ${Buffer.from(`${app.app.id}:${app.clientSecret}`).toString('base64')}`;
    const grant = (secret: string) =>
      fetch(`${gatehouse.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: secret },
        body: 'grant_type=client_credentials',
      });
    for (let i = 0; i < 2; i++) {
      const response = await grant(basic);
      expect(response.status).toBe(200);
      recordSecret(((await response.json()) as { access_token: string }).access_token);
    }
    expect((await grant(`Basic ${Buffer.from(`${app.app.id}:ghcs_wrong`).toString('base64')}`)).status).toBe(401);
    const text = await scrape();
    expect(sample(text, 'gatehouse_tokens_issued_total', 'grant_type="client_credentials"')).toBe(before + 2);
    expect(sample(text, 'gatehouse_http_request_duration_seconds_count', 'method="POST",route="/oauth/token",status_code="401"')).toBe(1);
    // each instance has a registry of its own
    expect(sample(await scrape(other), 'gatehouse_tokens_issued_total', 'grant_type="client_credentials"')).toBeUndefined();
  });

  it('reports accounts by status on scrape, and declares the refresh and webhook counters', async () => {
    const db = gatehouse.services.db;
    for (const subject of ['a1', 'a2', 'a3', 'a4']) {
      await seedAccount(db, app.app.id, subject, `acc_${subject}_${randomBytes(4).toString('hex')}`);
    }
    await db.updateTable('accounts').set({ status: 'needs_reauth' }).where('upstream_subject', 'in', ['a1', 'a2']).execute();
    await db.updateTable('accounts').set({ status: 'revoked' }).where('upstream_subject', '=', 'a3').execute();
    const text = await scrape();
    expect(text).toContain('# TYPE gatehouse_accounts gauge');
    expect(sample(text, 'gatehouse_accounts', 'status="active"')).toBe(2); // a4 and the one from the first test
    expect(sample(text, 'gatehouse_accounts', 'status="needs_reauth"')).toBe(2);
    expect(sample(text, 'gatehouse_accounts', 'status="revoked"')).toBe(1);
    expect(sample(await scrape(other), 'gatehouse_accounts', 'status="revoked"')).toBe(0);
    expect(text).toContain('# TYPE gatehouse_refresh_total counter');
    expect(text).toContain('# TYPE gatehouse_webhook_deliveries_total counter');
  });
});

describe.each(STORE_KINDS)('/metrics behind GATEHOUSE_METRICS_TOKEN on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  const token = `mt_${randomBytes(24).toString('base64url')}`;
  recordSecret(token);

  beforeAll(async () => {
    gatehouse = await startGatehouse({ kind, env: { GATEHOUSE_METRICS_TOKEN: token } });
  });
  afterAll(() => gatehouse?.close());

  it('requires Authorization: Bearer <token>', async () => {
    const none = await fetch(`${gatehouse.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await none.json()).toMatchObject({ error: 'invalid_token' });
    expect((await fetch(`${gatehouse.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await fetch(`${gatehouse.url}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` } })).status).toBe(401);
    const ok = await fetch(`${gatehouse.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('gatehouse_http_request_duration_seconds');
  });
});
