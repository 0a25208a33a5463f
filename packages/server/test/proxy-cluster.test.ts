import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAccount } from '../src/accounts/index.ts';
import { createApp } from '../src/authorization/index.ts';
import { findTokens } from '../src/store/index.ts';
import { startApiUpstream, type ApiUpstream } from './support/api-upstream.ts';
import { integrate } from './support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { POSTGRES_ENABLED } from './support/paths.ts';
import { spawnGatehouse, type GatehouseProcess } from './support/processes.ts';
import { recordSecret } from './support/secrets.ts';

const CALLS = 1000;
const MB = 1024 * 1024;

/** A process's resident memory now, in bytes. */
const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;

/**
 * Issue 5's must-show: two `gatehouse serve` processes on one PostgreSQL, one account whose
 * upstream token has expired, 1,000 concurrent proxy calls spread over both. Also the memory of
 * a Gatehouse process while 200 MB stream through it each way.
 */
describe.runIf(POSTGRES_ENABLED)('two Gatehouse processes on one PostgreSQL', { timeout: 180_000 }, () => {
  let setup: RunningGatehouse;
  let upstream: ApiUpstream;
  const instances: GatehouseProcess[] = [];
  let apiKey = '';
  let appId = '';

  beforeAll(async () => {
    upstream = await startApiUpstream();
    // the setup instance makes the database, the app and its integration; the two processes serve
    setup = await startGatehouse({ kind: 'postgres', providersDir: upstream.providersDir });
    const created = await createApp(setup.services, {
      name: 'cluster',
      redirectUris: ['http://127.0.0.1:9/callback'],
      scopes: ['accounts:read', 'proxy'],
    });
    recordSecret(created.clientSecret, created.apiKey);
    apiKey = created.apiKey;
    appId = created.app.id;
    await integrate(setup.services, appId, 'test-api', { clientId: 'api-client', clientSecret: 'api-client-secret-cluster-0123456789' });
    if (setup.database.target.kind !== 'postgres') throw new Error('postgres expected');
    const env = {
      GATEHOUSE_DATABASE_URL: setup.database.target.url,
      GATEHOUSE_SECRET_KEYS: setup.secretKeys,
      GATEHOUSE_PROVIDERS_DIR: upstream.providersDir,
      GATEHOUSE_RATE_LIMITS: 'off',
      GATEHOUSE_LOG_LEVEL: 'info',
      GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-cluster-')),
      // no background refresher: the one refresh must come from the proxied calls themselves
      GATEHOUSE_REFRESH_INTERVAL_SECONDS: '0',
    };
    instances.push(...(await Promise.all([spawnGatehouse('cluster-a', env), spawnGatehouse('cluster-b', env)])));
  });

  afterAll(async () => {
    await Promise.all(
      instances.map((i) => {
        i.child.kill('SIGTERM');
        return i.exited;
      }),
    );
    await setup?.close();
    await upstream?.close();
  });

  async function account(subject: string) {
    const pair = upstream.issue(subject);
    const { account } = await importAccount(setup.services, appId, {
      provider: 'test-api',
      access_token: pair.access,
      refresh_token: pair.refresh,
      expires_in: 3600,
    });
    return { id: account.id, ...pair };
  }

  it(`${CALLS} concurrent proxy calls over both processes for one expired account: exactly one upstream refresh, every call 200`, async () => {
    const { id, access } = await account('storm');
    await setup.services.db.updateTable('account_tokens').set({ expires_at: Date.now() - 60_000 }).where('account_id', '=', id).execute();
    upstream.tokenDelayMs = 300; // the refresh takes a while: every call arrives while it runs
    const grants = upstream.refreshGrants();
    const firstCall = upstream.calls.length;
    const pools = instances.map((i) => new Pool(i.url, { connections: CALLS / 2, pipelining: 0 }));
    try {
      const answers = await Promise.all(
        Array.from({ length: CALLS }, async (_, n) => {
          const response = await pools[n % 2]!.request({
            method: 'GET',
            path: `/v1/accounts/${id}/proxy/echo?n=${n}`,
            headers: { authorization: `Bearer ${apiKey}` },
          });
          const text = await response.body.text();
          return { status: response.statusCode, text };
        }),
      );
      const failed = answers.filter((a) => a.status !== 200);
      expect(failed.length, failed.slice(0, 3).map((a) => `${a.status} ${a.text}`).join('\n')).toBe(0);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
      upstream.tokenDelayMs = 0;
    }
    expect(upstream.refreshGrants() - grants).toBe(1);
    // every call reached the provider once, all with the one refreshed token
    const calls = upstream.calls.slice(firstCall);
    expect(calls).toHaveLength(CALLS);
    const used = new Set(calls.map((c) => c.headers.authorization));
    expect(used.size).toBe(1);
    expect([...used][0]).not.toBe(`Bearer ${access}`);
    expect((await findTokens(setup.services.db, id))!.version).toBe(2);
  });

  it('200 MB up and 200 MB down through one process: its memory stays flat', async () => {
    const { id } = await account('bulk');
    const gatehouse = instances[0]!;
    const size = 200 * MB;
    const chunk = Buffer.alloc(64 * 1024, 'gatehouse-upload-');
    const pool = new Pool(gatehouse.url, { connections: 2 });
    const headers = { authorization: `Bearer ${apiKey}` };
    // warm up (first proxied call, first upstream connection), then take the baseline
    await (await pool.request({ method: 'GET', path: `/v1/accounts/${id}/proxy/echo`, headers })).body.text();
    const baseline = rss(gatehouse.child.pid!);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(gatehouse.child.pid!))), 20);
    try {
      const body = Readable.from(
        (function* () {
          for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
        })(),
      );
      const up = await pool.request({ method: 'PUT', path: `/v1/accounts/${id}/proxy/upload`, headers: { ...headers, 'content-type': 'application/octet-stream' }, body });
      expect(up.statusCode).toBe(200);
      expect(((await up.body.json()) as { bytes: number }).bytes).toBe(size);

      const down = await pool.request({ method: 'GET', path: `/v1/accounts/${id}/proxy/download?bytes=${size}`, headers });
      expect(down.statusCode).toBe(200);
      let received = 0;
      for await (const part of down.body) received += (part as Buffer).length;
      expect(received).toBe(size);
    } finally {
      clearInterval(sampler);
      await pool.close();
    }
    const growth = peak - baseline;
    console.info(`proxy streaming: rss baseline ${(baseline / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB, growth ${(growth / MB).toFixed(1)} MB for ${size / MB} MB each way`);
    // buffering either body would add its whole 200 MB; streaming costs socket and stream buffers plus
    // garbage not yet collected (35-65 MB seen on a loaded 2-core machine), so half a body tells them apart
    expect(growth).toBeLessThan(size / 2);
  });
});
