import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { freshAccessToken, importAccount } from '../src/accounts/index.ts';
import { keyStatus, rotateKeys } from '../src/keys/index.ts';
import type { Services } from '../src/services.ts';
import { toJson, upsertAccount } from '../src/store/index.ts';
import { createVault, newId, parseKeyring } from '../src/vault/index.ts';
import { setWebhook } from '../src/webhooks/index.ts';
import { integrate, registerApp } from './support/fixtures.ts';
import { startGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';
import { startOAuth2Upstream } from './support/upstreams.ts';

// Issue 5's must-show: key rotation while the server serves a load of API and refresh requests
// fails none of them, and leaves nothing sealed under the old key. (keys.test.ts covers the
// rotation itself: batches, cursor, compare-and-set, unopenable values.)

const OLD_KEY = randomBytes(32).toString('base64');
const NEW_KEY = randomBytes(32).toString('base64');
recordSecret(OLD_KEY, NEW_KEY);
const OLD_ONLY = `old:${OLD_KEY}`;
const NEW_AND_OLD = `new:${NEW_KEY},old:${OLD_KEY}`;
const NEW_ONLY = `new:${NEW_KEY}`;

const secret = (label: string) => {
  const value = `${label}-${randomBytes(12).toString('base64url')}`;
  recordSecret(value);
  return value;
};
const countOf = (status: Awaited<ReturnType<typeof keyStatus>>, kid: string) => status.kids.find((k) => k.kid === kid)?.count ?? 0;

describe.each(STORE_KINDS)('key rotation under load on %s', { timeout: 120_000 }, (kind) => {
  it('rotates while API and refresh requests run: none fails, and afterwards no value is under the old key', async () => {
    const oauth2 = await startOAuth2Upstream();
    oauth2.server.service.on('beforeResponse', (response: { body: Record<string, unknown> }, req: { body: Record<string, string> }) => {
      if (req.body.grant_type === 'refresh_token') recordSecret(req.body.refresh_token, response.body.access_token as string, response.body.refresh_token as string);
    });
    // the server already runs with the new key active and the old one still in its keyring
    const gatehouse = await startGatehouse({ kind, providersDir: oauth2.providersDir, env: { GATEHOUSE_SECRET_KEYS: NEW_AND_OLD, GATEHOUSE_RATE_LIMITS: 'off' } });
    try {
      // what an older server sealed under the old key: integrations, accounts, webhook secrets
      const old = { ...gatehouse.services, vault: createVault(parseKeyring(OLD_ONLY)) };
      const apps: { key: string; account: string }[] = [];
      for (let i = 0; i < 6; i++) {
        const created = await registerApp(old);
        await integrate(old, created.app.id, 'test-oauth2', { clientId: 'mock-client', clientSecret: secret('cs') });
        const { account } = await importAccount(old, created.app.id, { provider: 'test-oauth2', access_token: secret('at'), refresh_token: secret('rt'), expires_in: 3600 });
        recordSecret((await setWebhook(old, created.app.id, 'http://127.0.0.1:9/hooks')).secret);
        apps.push({ key: created.apiKey, account: account.id });
        for (let u = 0; u < 25; u++) {
          const tokens = { access_token: secret('at'), refresh_token: secret('rt') };
          await upsertAccount(old.db, {
            newId: newId('acc'),
            app_id: created.app.id,
            provider: 'github',
            upstream_subject: `user-${u}`,
            end_user_id: null,
            name: null,
            email: null,
            scope: 'read:user',
            template_values: toJson({}),
            sealTokens: (id) => ({
              access_token_sealed: old.vault.seal(tokens.access_token, { table: 'account_tokens', id, field: 'access_token' }),
              refresh_token_sealed: old.vault.seal(tokens.refresh_token, { table: 'account_tokens', id, field: 'refresh_token' }),
              id_token_sealed: null,
              token_type: 'Bearer',
              expires_at: null,
            }),
            now: Date.now(),
          });
        }
      }
      const start = await keyStatus(gatehouse.services);
      expect(countOf(start, 'old')).toBeGreaterThan(300);
      expect(start.columns.find((c) => c.table === 'webhook_endpoints')!.counts).toEqual({ old: 6 });

      const outcomes: { path: string; status: number | string; during: boolean }[] = [];
      let running = true;
      let rotating = false;
      const worker = async (n: number) => {
        for (let i = 0; running || i < 8; i++) {
          const app = apps[(n + i) % apps.length]!;
          const [method, path] = [
            ['POST', `/v1/accounts/${app.account}/refresh?force=true`],
            ['GET', `/v1/accounts/${app.account}`],
            ['GET', '/v1/accounts?limit=20'],
            ['GET', '/v1/webhook'],
          ][i % 4]!;
          const during = rotating;
          try {
            const response = await fetch(`${gatehouse.url}${path}`, { method, headers: { authorization: `Bearer ${app.key}` }, signal: AbortSignal.timeout(10_000) });
            await response.arrayBuffer();
            outcomes.push({ path: path!, status: response.status, during });
          } catch (err) {
            outcomes.push({ path: path!, status: (err as Error).name, during });
          }
        }
      };
      const load = Promise.all([0, 1, 2, 3].map(worker));
      rotating = true;
      // between batches, let a few requests complete (as a long rotation of a big store would), so
      // the load overlaps the whole rotation however fast or slow this machine is
      const result = await rotateKeys(gatehouse.services, {
        batchSize: 10,
        onProgress: async () => {
          const target = outcomes.length + 3;
          const deadline = Date.now() + 5000;
          while (outcomes.length < target && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        },
      });
      rotating = false;
      running = false;
      await load;

      expect(result).toMatchObject({ activeKid: 'new', failed: 0, remaining: 0 });
      expect(outcomes.filter((o) => o.during).length).toBeGreaterThan(40);
      expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
      expect(outcomes.filter((o) => o.during && o.path.includes('/refresh')).length).toBeGreaterThan(10);
      const end = await keyStatus(gatehouse.services);
      expect(countOf(end, 'old')).toBe(0);
      expect(end.outdated).toBe(0);
      // a keyring without the old key serves every account
      const onlyNew = { ...gatehouse.services, vault: createVault(parseKeyring(NEW_ONLY)) };
      for (const app of apps) expect((await freshAccessToken(onlyNew, (await findAccountApp(onlyNew, app.account))!, app.account)).accessToken).toBeTruthy();
    } finally {
      recordSecret(...oauth2.issuedTokens());
      await gatehouse.close();
      await oauth2.close();
    }
  });
});

async function findAccountApp(services: Services, accountId: string): Promise<string | undefined> {
  return (await services.db.selectFrom('accounts').select('app_id').where('id', '=', accountId).executeTakeFirst())?.app_id;
}
