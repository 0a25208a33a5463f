import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApp } from './support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';

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
