import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit, type AuditEntry } from '../src/audit/index.ts';
import { deleteApp } from '../src/authorization/index.ts';
import { rotateKeys } from '../src/keys/index.ts';
import { AuthorizationHarness, expectOAuthError } from './support/authorization.ts';
import { TestBrowser } from './support/browser.ts';
import { integrate, registerApp } from './support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';
import { startOAuth2Upstream, type OAuth2Upstream } from './support/upstreams.ts';

describe.each(STORE_KINDS)('audit log on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let first: Awaited<ReturnType<typeof registerApp>>;
  let second: Awaited<ReturnType<typeof registerApp>>;

  beforeAll(async () => {
    gatehouse = await startGatehouse({ kind });
    first = await registerApp(gatehouse.services, 'first');
    second = await registerApp(gatehouse.services, 'second');
  });
  afterAll(() => gatehouse?.close());

  const audit = (key: string, query = '') => fetch(`${gatehouse.url}/v1/audit${query}`, { headers: { authorization: `Bearer ${key}` } });

  it('shows an app its own events only, newest first, in pages', async () => {
    const form = (body: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${first.app.id}:${first.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams(body),
    });
    const { access_token: token } = (await (await fetch(`${gatehouse.url}/oauth/token`, form({ grant_type: 'client_credentials' }))).json()) as { access_token: string };
    recordSecret(token);
    expect((await fetch(`${gatehouse.url}/oauth/revoke`, form({ token }))).status).toBe(200);

    const page1 = (await (await audit(first.apiKey, '?limit=1')).json()) as { data: { action: string; app_id: string }[]; next_cursor: string };
    expect(page1.data.map((e) => e.action)).toEqual(['token.revoked']);
    const page2 = (await (await audit(first.apiKey, `?limit=1&cursor=${page1.next_cursor}`)).json()) as { data: { action: string }[]; next_cursor: string | null };
    expect(page2.data.map((e) => e.action)).toEqual(['app.created']);
    expect(page2.next_cursor).toBeNull();

    const theirs = (await (await audit(second.apiKey)).json()) as { data: { app_id: string; action: string }[] };
    expect(theirs.data.every((e) => e.app_id === second.app.id)).toBe(true);
    expect(theirs.data.map((e) => e.action)).toEqual(['app.created']);
  });

  it('is for the API key: an access token gets 403, a bad cursor 400', async () => {
    const response = await fetch(`${gatehouse.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: first.app.id, client_secret: first.clientSecret! }),
    });
    const { access_token: token } = (await response.json()) as { access_token: string };
    recordSecret(token);
    expect((await audit(token)).status).toBe(403);
    expect((await audit(first.apiKey, '?cursor=bm9wZQ')).status).toBe(400);
  });
});

/** One test per audited act: each leaves its event, with the app it concerns, and no secret in it. */
describe.each(STORE_KINDS)('audit events on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let upstream: OAuth2Upstream;
  let app: Awaited<ReturnType<typeof registerApp>>;
  const UPSTREAM_SECRET = 'audit-upstream-secret-0123456789';

  beforeAll(async () => {
    upstream = await startOAuth2Upstream();
    gatehouse = await startGatehouse({ kind, providersDir: upstream.providersDir });
    app = await registerApp(gatehouse.services, 'audited');
  });
  afterAll(async () => {
    recordSecret(...(upstream?.issuedTokens() ?? []));
    await gatehouse?.close();
    await upstream?.close();
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gatehouse.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${app.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const basic = () => `Basic ${Buffer.from(`${app.app.id}:${app.clientSecret}`).toString('base64')}`;
  const form = (path: string, fields: Record<string, string>) =>
    fetch(`${gatehouse.url}${path}`, {
      method: 'POST',
      headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
  /** The newest event of `action`, as the app's API key sees it. */
  async function seen(action: string): Promise<AuditEntry> {
    const { status, body } = await api('GET', `/v1/audit?action=${action}&limit=1`);
    expect(status).toBe(200);
    expect(body.data, `no ${action} event`).toHaveLength(1);
    const entry = body.data[0] as AuditEntry;
    expect(entry.app_id).toBe(app.app.id);
    expect(JSON.stringify(entry)).not.toMatch(/gh[akrs]_|audit-upstream-secret|mock-access/);
    return entry;
  }

  it('app.created', async () => {
    expect(await seen('app.created')).toMatchObject({ actor: 'operator', subject: app.app.id });
  });

  it('integration.created, then integration.updated (never the client secret)', async () => {
    await integrate(gatehouse.services, app.app.id, 'test-oauth2', { clientId: 'mock-client', clientSecret: UPSTREAM_SECRET });
    expect(await seen('integration.created')).toMatchObject({ actor: 'operator', detail: { provider: 'test-oauth2', client_id: 'mock-client' } });
    await integrate(gatehouse.services, app.app.id, 'test-oauth2', { clientId: 'mock-client-2', clientSecret: UPSTREAM_SECRET });
    expect(await seen('integration.updated')).toMatchObject({ detail: { provider: 'test-oauth2', client_id: 'mock-client-2' } });
  });

  it('account.connected, then account.reconnected for the same upstream account', async () => {
    const connect = async () => {
      const browser = new TestBrowser();
      const started = await browser.request(`${gatehouse.url}/connect/test-oauth2?app=${app.app.id}`);
      expect(started.status).toBe(303);
      const { url: callback } = await browser.follow(started.headers.get('location')!, {}, (u) => u.pathname === '/connect/callback');
      expect((await browser.request(callback.href)).status).toBe(200);
    };
    await connect();
    const connected = await seen('account.connected');
    expect(connected).toMatchObject({ actor: 'end_user', detail: { provider: 'test-oauth2' } });
    await connect();
    expect((await seen('account.reconnected')).subject).toBe(connected.subject);
  });

  it('account.imported and account.released', async () => {
    // another upstream account than the connected one (the profile endpoint answers this id)
    upstream.profile.id = 5151;
    const imported = await api('POST', '/v1/accounts', { provider: 'test-oauth2', access_token: 'mock-access-token-audit' });
    expect(imported.status).toBe(201);
    expect(await seen('account.imported')).toMatchObject({ actor: `app:${app.app.id}`, subject: imported.body.id });
    expect((await api('DELETE', `/v1/accounts/${imported.body.id}`)).status).toBe(200);
    expect(await seen('account.released')).toMatchObject({ actor: `app:${app.app.id}`, subject: imported.body.id });
  });

  it('token.revoked (RFC 7009)', async () => {
    const issued = (await (await form('/oauth/token', { grant_type: 'client_credentials' })).json()) as { access_token: string };
    recordSecret(issued.access_token);
    expect((await form('/oauth/revoke', { token: issued.access_token })).status).toBe(200);
    expect(await seen('token.revoked')).toMatchObject({ actor: `app:${app.app.id}` });
  });

  it('end_user.tokens_revoked (sign-out)', async () => {
    expect((await api('DELETE', '/v1/end-users/someone/tokens')).status).toBe(200);
    expect(await seen('end_user.tokens_revoked')).toMatchObject({ subject: 'someone' });
  });

  it('webhook.set and webhook.disabled (never the signing secret)', async () => {
    const set = await api('PUT', '/v1/webhook', { url: 'http://127.0.0.1:9/hooks' });
    expect(set.status).toBe(200);
    recordSecret(set.body.secret);
    const entry = await seen('webhook.set');
    expect(entry).toMatchObject({ actor: `app:${app.app.id}`, detail: { url: 'http://127.0.0.1:9/hooks' } });
    expect(JSON.stringify(entry)).not.toContain(set.body.secret);
    expect((await api('DELETE', '/v1/webhook')).status).toBe(200);
    expect(await seen('webhook.disabled')).toMatchObject({ actor: `app:${app.app.id}`, subject: app.app.id });
  });

  it('key.rotated and app.deleted: operator acts, shown by `gatehouse audit` (every app) and never to an app', async () => {
    const result = await rotateKeys(gatehouse.services);
    const doomed = await registerApp(gatehouse.services, 'doomed');
    await deleteApp(gatehouse.services, doomed.app.id);
    // what `gatehouse audit` lists: every app's events and the operator's
    const all = (await listAudit(gatehouse.services, { appId: undefined, limit: 200 })).data;
    const rotated = all.find((e) => e.action === 'key.rotated');
    expect(rotated).toMatchObject({ app_id: null, actor: 'operator', subject: result.activeKid });
    expect(rotated!.detail).toEqual({ resealed: result.resealed, skipped: 0, failed: 0, remaining: 0, resumed: false });
    expect(all.find((e) => e.action === 'app.deleted')).toMatchObject({ app_id: null, subject: doomed.app.id, detail: { name: 'doomed' } });
    // the app's key sees its own events only
    const own = await api('GET', '/v1/audit?limit=200');
    expect(own.body.data.length).toBeGreaterThan(5);
    expect(own.body.data.every((e: AuditEntry) => e.app_id === app.app.id)).toBe(true);
    expect(own.body.data.some((e: AuditEntry) => e.action === 'key.rotated' || e.action === 'app.deleted')).toBe(false);
  });
});

describe.each(STORE_KINDS)('audit events of the authorization server on %s', (kind) => {
  const h = new AuthorizationHarness();
  beforeAll(() => h.start(kind));
  afterAll(() => h.close());

  const events = async (action: string) =>
    (await (await fetch(`${h.gatehouse.url}/v1/audit?action=${action}`, { headers: { authorization: `Bearer ${h.web.apiKey}` } })).json()) as {
      data: AuditEntry[];
    };

  it('grant.created when the end user allows, grant.revoked when its code is replayed', async () => {
    const flow = await h.toConsent('alice');
    const redirected = await h.decide(flow, 'allow');
    const created = (await events('grant.created')).data;
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ app_id: h.web.app.id, actor: 'end_user', detail: { account: expect.any(String) } });
    await h.exchange(flow, redirected);
    await expectOAuthError(h.exchange(flow, redirected), 'invalid_grant');
    const revoked = (await events('grant.revoked')).data;
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({ subject: created[0]!.subject, detail: { reason: expect.stringContaining('code') } });
  });
});
