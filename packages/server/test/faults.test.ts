import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKOFF_BASE_MS } from '../src/accounts/index.ts';
import { buildApp } from '../src/app.ts';
import { openServices } from '../src/boot.ts';
import { loadConfig } from '../src/config.ts';
import type { Services } from '../src/services.ts';
import { findTokens, type Store } from '../src/store/index.ts';
import { generateKeyringSpec } from '../src/vault/index.ts';
import { importedTestAccount } from './support/fixtures.ts';
import { startGatehouse, testLogger, type RunningGatehouse } from './support/gatehouse.ts';
import { spawnGatehouse, startPrivatePostgres, type PrivatePostgres } from './support/processes.ts';
import { recordSecret } from './support/secrets.ts';
import { freshDatabase, STORE_KINDS, type TestDatabase } from './support/stores.ts';
import { startOAuth2Upstream, type OAuth2Upstream } from './support/upstreams.ts';

// What happens to an account's tokens when things break: the provider's token endpoint (500,
// a hang, malformed JSON, invalid_grant), the Gatehouse process (killed mid-refresh), and the
// database (restarted under load). After each, no account may have lost its refresh token or
// hold a damaged one, and the API must have said clearly what was going on meanwhile.

type Json = any;
type Fault = 'http_500' | 'hang' | 'malformed' | 'invalid_grant';
type Mode = 'ok' | Fault | 'hold';
const MOCK_SECRET = 'mock-client-secret-faults-0123456789';
const TIMEOUT_MS = 400;

/** The mock upstream with a switchable fault on its refresh_token grant. */
async function faultyUpstream() {
  const upstream = await startOAuth2Upstream();
  const state = { mode: 'ok' as Mode, grants: [] as string[], issued: [] as string[], held: [] as (() => void)[] };
  upstream.server.service.on(
    'beforeResponse',
    (response: { body: Record<string, unknown>; statusCode: number }, req: { body: Record<string, string>; res: Json }) => {
      if (req.body.grant_type !== 'refresh_token') return;
      state.grants.push(req.body.refresh_token!);
      recordSecret(req.body.refresh_token, response.body.access_token as string, response.body.refresh_token as string);
      const res = req.res;
      const json = res.json.bind(res);
      switch (state.mode) {
        case 'http_500':
          response.statusCode = 500;
          response.body = { error: 'server_error' };
          return;
        case 'invalid_grant':
          response.statusCode = 400;
          response.body = { error: 'invalid_grant', error_description: 'refresh token revoked' };
          return;
        case 'malformed':
          res.json = () => res.type('application/json').send('{"access_token": "half');
          return;
        case 'hang':
          res.json = (body: unknown) => setTimeout(() => json(body), TIMEOUT_MS * 4);
          return;
        case 'hold':
          res.json = (body: unknown) => state.held.push(() => json(body));
          return;
        default:
          if (typeof response.body.refresh_token === 'string') state.issued.push(response.body.refresh_token);
      }
    },
  );
  return { upstream, state };
}

/** The token row of an account with its tokens opened: what "not lost, not damaged" is checked on. */
async function opened(services: Services, id: string) {
  const row = (await findTokens(services.db, id))!;
  const open = (sealed: string | null, field: string) => (sealed ? services.vault.open(sealed, { table: 'account_tokens', id, field }) : null);
  return { ...row, access: open(row.access_token_sealed, 'access_token'), refresh: open(row.refresh_token_sealed, 'refresh_token') };
}

const newAccount = (services: Services, expiresIn = 60) => importedTestAccount(services, MOCK_SECRET, expiresIn);

async function call(url: string, key: string, method: string, path: string, timeoutMs = 10_000) {
  const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Json };
}

describe.each(STORE_KINDS)('upstream token endpoint faults through the API on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let faulty: Awaited<ReturnType<typeof faultyUpstream>>;
  let clockOffset = 0;

  beforeAll(async () => {
    faulty = await faultyUpstream();
    gatehouse = await startGatehouse({
      kind,
      providersDir: faulty.upstream.providersDir,
      clock: () => Date.now() + clockOffset,
      env: { GATEHOUSE_UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
  });
  afterEach(() => {
    clockOffset = 0;
    faulty.state.mode = 'ok';
    faulty.state.grants = [];
  });
  afterAll(async () => {
    recordSecret(...(faulty?.upstream.issuedTokens() ?? []));
    await gatehouse?.close();
    await faulty?.upstream.close();
  });

  describe.each(['http_500', 'hang', 'malformed'] as const)('%s', (fault) => {
    it('keeps the tokens exactly as they were, answers 424 while in backoff, then recovers', async () => {
      const a = await newAccount(gatehouse.services);
      await gatehouse.services.db.updateTable('account_tokens').set({ expires_at: Date.now() - 1000 }).where('account_id', '=', a.id).execute();
      const before = await opened(gatehouse.services, a.id);
      faulty.state.mode = fault;

      const failed = await call(gatehouse.url, a.key, 'POST', `/v1/accounts/${a.id}/refresh`);
      expect(failed.status).toBe(424);
      expect(failed.body).toEqual({ error: 'upstream_backoff', error_description: expect.stringMatching(/failed at the provider \(.+\); the next attempt is after \d{4}-/) });
      const after = await opened(gatehouse.services, a.id);
      // byte for byte: the sealed values were not rewritten, and they still open to the originals
      expect(after).toMatchObject({
        access_token_sealed: before.access_token_sealed,
        refresh_token_sealed: before.refresh_token_sealed,
        version: before.version,
        access: a.access,
        refresh: a.refresh,
        refresh_failures: 1,
      });
      expect((await call(gatehouse.url, a.key, 'GET', `/v1/accounts/${a.id}`)).body.status).toBe('active');

      // during the cooldown: 424 again, and the provider is not asked
      faulty.state.mode = 'ok';
      expect((await call(gatehouse.url, a.key, 'POST', `/v1/accounts/${a.id}/refresh?force=true`)).status).toBe(424);
      expect(faulty.state.grants).toEqual([a.refresh]);

      clockOffset = BACKOFF_BASE_MS + 1000;
      const recovered = await call(gatehouse.url, a.key, 'POST', `/v1/accounts/${a.id}/refresh`);
      expect(recovered.status).toBe(200);
      expect(faulty.state.grants).toEqual([a.refresh, a.refresh]);
      const final = await opened(gatehouse.services, a.id);
      expect(final.refresh).toBe(faulty.state.issued.at(-1));
      expect(final).toMatchObject({ version: before.version + 1, refresh_failures: 0, refresh_error: null });
    });
  });

  it('invalid_grant: 409 needs_reauth from then on, no further upstream call, and the refresh token is still held', async () => {
    const a = await newAccount(gatehouse.services);
    const before = await opened(gatehouse.services, a.id);
    faulty.state.mode = 'invalid_grant';
    const refused = await call(gatehouse.url, a.key, 'POST', `/v1/accounts/${a.id}/refresh?force=true`);
    expect(refused).toMatchObject({ status: 409, body: { error: 'needs_reauth', error_description: expect.stringContaining('reconnect') } });
    expect((await call(gatehouse.url, a.key, 'GET', `/v1/accounts/${a.id}`)).body.status).toBe('needs_reauth');
    faulty.state.mode = 'ok';
    clockOffset = 24 * 3600 * 1000;
    expect((await call(gatehouse.url, a.key, 'POST', `/v1/accounts/${a.id}/refresh?force=true`)).status).toBe(409);
    expect(faulty.state.grants).toEqual([a.refresh]);
    expect(await opened(gatehouse.services, a.id)).toMatchObject({
      refresh_token_sealed: before.refresh_token_sealed,
      refresh: a.refresh,
      access: a.access,
      version: before.version,
    });
  });
});

describe.runIf(STORE_KINDS.includes('postgres'))('processes and PostgreSQL', { timeout: 120_000 }, () => {
  let faulty: Awaited<ReturnType<typeof faultyUpstream>>;
  beforeAll(async () => {
    faulty = await faultyUpstream();
  });
  afterAll(async () => {
    for (const release of faulty?.state.held.splice(0) ?? []) release();
    recordSecret(...(faulty?.upstream.issuedTokens() ?? []));
    await faulty?.upstream.close();
  });

  /** The environment of a Gatehouse on `databaseUrl`; the test process opens the same store with it. */
  function environment(databaseUrl: string) {
    const secretKeys = generateKeyringSpec('faults');
    recordSecret(secretKeys.split(':')[1]);
    return {
      GATEHOUSE_DATABASE_URL: databaseUrl,
      GATEHOUSE_SECRET_KEYS: secretKeys,
      GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-faults-')),
      GATEHOUSE_PROVIDERS_DIR: faulty.upstream.providersDir,
      GATEHOUSE_REFRESH_INTERVAL_SECONDS: '0',
      GATEHOUSE_RATE_LIMITS: 'off',
    };
  }

  it('the Gatehouse process killed (SIGKILL) mid-refresh: the old refresh token stays, the lock goes, a new process refreshes', async () => {
    const database: TestDatabase = await freshDatabase('postgres');
    const env = environment(database.target.kind === 'postgres' ? database.target.url : '');
    const local = await openServices(loadConfig(env), testLogger('faults-kill-local'));
    try {
      const a = await newAccount(local);
      await local.db.updateTable('account_tokens').set({ expires_at: Date.now() - 1000 }).where('account_id', '=', a.id).execute();
      const before = await opened(local, a.id);
      faulty.state.grants = [];
      faulty.state.mode = 'hold';

      const first = await spawnGatehouse('faults-killed', env);
      const pending = call(first.url, a.key, 'POST', `/v1/accounts/${a.id}/refresh`).catch((err: Error) => err);
      await expect.poll(() => faulty.state.grants.length, { timeout: 15_000 }).toBe(1);
      // the refresh holds the account's row lock while it waits for the provider
      await expect(lockNowait(local, a.id)).rejects.toMatchObject({ code: '55P03' });
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      expect(await pending).toBeInstanceOf(Error);

      // the transaction died with the process: nothing written, and the lock is free again
      await expect.poll(() => lockNowait(local, a.id).then(() => 'free', (err: { code?: string }) => err.code), { timeout: 10_000 }).toBe('free');
      expect(await opened(local, a.id)).toMatchObject({
        access_token_sealed: before.access_token_sealed,
        refresh_token_sealed: before.refresh_token_sealed,
        version: before.version,
        refresh: a.refresh,
        refresh_failures: 0,
        refresh_retry_at: null,
      });

      faulty.state.mode = 'ok';
      for (const release of faulty.state.held.splice(0)) release();
      const second = await spawnGatehouse('faults-restarted', env);
      try {
        const refreshed = await call(second.url, a.key, 'POST', `/v1/accounts/${a.id}/refresh`);
        expect(refreshed.status).toBe(200);
        expect(faulty.state.grants).toEqual([a.refresh, a.refresh]);
        const after = await opened(local, a.id);
        expect(after.refresh).toBe(faulty.state.issued.at(-1));
        expect(after.version).toBe(before.version + 1);
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
    } finally {
      faulty.state.mode = 'ok';
      await local.store.close();
      await database.drop();
    }
  });

  it('PostgreSQL restarted under load: 503 temporarily_unavailable meanwhile (no hang, no 500), success after, no token lost', async () => {
    let cluster: PrivatePostgres;
    try {
      cluster = await startPrivatePostgres();
    } catch (err) {
      throw new Error(`a private PostgreSQL cluster could not be started: ${(err as Error).message}`);
    }
    const env = environment(cluster.url);
    let services: (Services & { store: Store }) | undefined;
    let app: Awaited<ReturnType<typeof buildApp>> | undefined;
    try {
      services = await openServices(loadConfig(env), testLogger('faults-pg-restart'));
      app = await buildApp(services);
      const url = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
      const accounts: Awaited<ReturnType<typeof newAccount>>[] = [];
      for (let i = 0; i < 4; i++) accounts.push(await newAccount(services, 3600));
      const before = await Promise.all(accounts.map((a) => opened(services!, a.id)));

      type Outcome = { phase: 'before' | 'outage' | 'after'; status: number | string; body?: Json; retryAfter?: string | null };
      const outcomes: Outcome[] = [];
      let phase: Outcome['phase'] = 'before';
      let running = true;
      const paths = (a: (typeof accounts)[number]) => [
        ['GET', `/v1/accounts/${a.id}`],
        ['POST', `/v1/accounts/${a.id}/refresh`],
        ['GET', '/v1/accounts?limit=5'],
        ['GET', '/v1/webhook'],
      ];
      const worker = async (n: number) => {
        for (let i = 0; running; i++) {
          const a = accounts[(n + i) % accounts.length]!;
          const [method, path] = paths(a)[i % 4]!;
          const started = phase;
          // a request still running when the outage began belongs to the outage
          const at = () => (started === 'before' && phase !== 'before' ? 'outage' : started);
          try {
            const answer = await call(url, a.key, method!, path!, 8000);
            outcomes.push({ phase: at(), status: answer.status, body: answer.body, retryAfter: answer.headers.get('retry-after') });
          } catch (err) {
            outcomes.push({ phase: at(), status: (err as Error).name });
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };
      const load = Promise.all([0, 1, 2, 3].map(worker));
      await new Promise((resolve) => setTimeout(resolve, 500));
      phase = 'outage';
      cluster.stop();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      cluster.start();
      phase = 'after';
      await expect.poll(() => outcomes.filter((o) => o.phase === 'after' && o.status === 200).length, { timeout: 20_000 }).toBeGreaterThan(40);
      running = false;
      await load;

      const statuses = new Set(outcomes.map((o) => o.status));
      expect([...statuses].sort()).toEqual([200, 503]);
      expect(outcomes.filter((o) => o.phase === 'before').every((o) => o.status === 200)).toBe(true);
      const unavailable = outcomes.filter((o) => o.status === 503);
      expect(unavailable.length).toBeGreaterThan(0);
      for (const o of unavailable) {
        expect(o.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.stringContaining('retry in a few seconds') });
        expect(o.retryAfter).toBe('2');
      }
      // once it is back, it stays back: the last 30 answers are all successes
      expect(outcomes.slice(-30).every((o) => o.status === 200)).toBe(true);
      const after = await Promise.all(accounts.map((a) => opened(services!, a.id)));
      after.forEach((row, i) => {
        expect(row).toMatchObject({ refresh_token_sealed: before[i]!.refresh_token_sealed, refresh: accounts[i]!.refresh, access: accounts[i]!.access, version: before[i]!.version });
      });
    } finally {
      await app?.close();
      await services?.store.close();
      cluster.destroy();
    }
  });
});

/** Tries to take the account's token row lock without waiting (55P03 when another transaction holds it). */
async function lockNowait(services: Services, accountId: string): Promise<void> {
  await services.db.transaction().execute(async (trx) => {
    await trx.selectFrom('account_tokens').select('account_id').where('account_id', '=', accountId).forUpdate().noWait().execute();
  });
}
