import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSecret } from '../../server/test/support/secrets.ts';
import { STORE_KINDS } from '../../server/test/support/stores.ts';
import { codes, Gatehouse, ResponseBodyError, type Account } from '../src/index.ts';
import { rejection, SdkHarness } from './support.ts';

// The accounts API and connect sessions through the SDK, against a running Gatehouse.
describe.each(STORE_KINDS)('@gatehouse/node accounts API on %s', (kind) => {
  const h = new SdkHarness();
  beforeAll(() => h.start(kind));
  afterAll(() => h.close());

  /** Connects `login` through the server flow (optionally for a connect session) and returns the account id. */
  async function connect(login: string, sessionToken?: string): Promise<string> {
    const { state, nonce, url } = await h.authorize(h.sdk, login, sessionToken ? { sessionToken } : {});
    const credentials = await h.sdk.exchangeCredentials(state, nonce, url);
    recordSecret(credentials.access_token, credentials.refresh_token);
    return credentials.account!.id;
  }

  it('a connect session puts the connected account on the end user', async () => {
    const session = await h.sdk.connectSessions.create({ endUser: { id: 'user-42', email: 'u42@example.test' }, allowedProviders: ['oidc'] });
    recordSecret(session.token);
    expect(session.token).toMatch(/^ghs_/);
    expect(Date.parse(session.expires_at)).toBeGreaterThan(Date.now());
    const id = await connect('frank', session.token);
    expect(await h.sdk.accounts.get(id)).toMatchObject({ id, provider: 'oidc', end_user_id: 'user-42', email: 'frank@example.test', status: 'active' });
    const mine = await h.sdk.accounts.list({ endUser: 'user-42' });
    expect(mine.data.map((a) => a.id)).toEqual([id]);
  });

  it('lists page by page and all at once, updates metadata, shows scopes, releases', async () => {
    const ids = [await connect('gina'), await connect('hank')];
    const first = await h.sdk.accounts.list({ provider: 'oidc', limit: 1 });
    expect(first.data).toHaveLength(1);
    expect(first.next_cursor).toEqual(expect.any(String));
    const all: Account[] = [];
    for await (const account of h.sdk.accounts.all({ provider: 'oidc', limit: 1 })) all.push(account);
    expect(all.map((a) => a.id)).toEqual(expect.arrayContaining(ids));
    expect(new Set(all.map((a) => a.id)).size).toBe(all.length);

    const updated = await h.sdk.accounts.update(ids[0]!, { plan: 'pro', note: 'x' });
    expect(updated.metadata).toEqual({ plan: 'pro', note: 'x' });
    expect((await h.sdk.accounts.update(ids[0]!, { note: null })).metadata).toEqual({ plan: 'pro' });

    const scopes = await h.sdk.accounts.scopes(ids[0]!);
    expect(scopes.provider).toBe('oidc');
    expect(scopes.scopes.map((s) => s.scope)).toContain('openid');

    const released = await h.sdk.accounts.release(ids[1]!);
    expect(released.account).toMatchObject({ id: ids[1], status: 'revoked' });
    expect(released.upstream_revocation).toMatchObject({ revoked: true });
  });

  it('imports a token set held elsewhere (identity read from the provider)', async () => {
    const imported = await h.sdk.accounts.import({ provider: 'test-oauth2', accessToken: await h.mockUpstreamToken(), expiresIn: 3600 });
    expect(imported).toMatchObject({ provider: 'test-oauth2', name: 'Octo Cat', email: 'octo@example.test', status: 'active' });
    expect(JSON.stringify(imported)).not.toMatch(/access_token/);
  });

  it('answers errors as ResponseBodyError with the wire fields, and asks for the API key when it has none', async () => {
    const missing = await rejection(h.sdk.accounts.get('acc_does_not_exist'));
    expect(missing).toBeInstanceOf(ResponseBodyError);
    expect(missing).toMatchObject({ code: codes.RESPONSE_BODY_ERROR, status: 404, error: 'not_found' });
    const badImport = await rejection(h.sdk.accounts.import({ provider: 'no-such-provider', accessToken: 'x'.repeat(20) }));
    expect(badImport).toMatchObject({ status: 404, error: 'not_found' });
    const wrongKey = new Gatehouse({ baseUrl: h.gatehouse.url, clientId: h.web.app.id, apiKey: 'ghk_not-a-key-0000000000' });
    expect(await rejection(wrongKey.accounts.list())).toMatchObject({ status: 401, error: 'invalid_token' });
    const noKey = new Gatehouse({ baseUrl: h.gatehouse.url, clientId: h.web.app.id });
    expect((await rejection(() => noKey.accounts.list())).code).toBe(codes.INVALID_ARGUMENT);
    expect((await rejection(() => noKey.connectSessions.create({ endUser: { id: 'u' } }))).code).toBe(codes.INVALID_ARGUMENT);
    expect((await rejection(() => noKey.account('acc_1').fetch('/files'))).code).toBe(codes.INVALID_ARGUMENT);
  });
});
