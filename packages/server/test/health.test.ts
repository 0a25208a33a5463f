import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { STORE_KINDS } from './support/stores.ts';

describe.each(STORE_KINDS)('health and readiness on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  beforeAll(async () => {
    gatehouse = await startGatehouse({ kind });
  });
  afterAll(() => gatehouse?.close());

  it('/healthz answers while the process is up; /readyz checks the database and migrations', async () => {
    expect(await (await fetch(`${gatehouse.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${gatehouse.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: true, migrations: true } });
  });

  it('every response carries nosniff, no-referrer and no framing', async () => {
    for (const path of ['/healthz', '/v1/accounts', '/connect/callback?state=x', '/nowhere']) {
      const response = await fetch(`${gatehouse.url}${path}`);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(response.headers.get('strict-transport-security')).toBeNull(); // the base URL is http here
    }
    const page = await fetch(`${gatehouse.url}/connect/callback?state=x`);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'.*style-src 'self'/);
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
  });
});

// Only a database server can go away under a running Gatehouse.
describe.each(STORE_KINDS.filter((kind) => kind === 'postgres'))('readiness when %s is gone', (kind) => {
  let gatehouse: RunningGatehouse;
  beforeAll(async () => {
    gatehouse = await startGatehouse({ kind });
  });
  afterAll(() => gatehouse?.close());

  it('/readyz fails with 503 when the database is gone', async () => {
    await gatehouse.database.drop();
    const response = await fetch(`${gatehouse.url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'not_ready', checks: { database: false } });
    expect((await fetch(`${gatehouse.url}/healthz`)).status).toBe(200);
  });
});
