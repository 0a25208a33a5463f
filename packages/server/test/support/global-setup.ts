import { mkdirSync, rmSync } from 'node:fs';
import pg from 'pg';
import { LOG_DIR, POSTGRES_ADMIN_URL, POSTGRES_ENABLED, TEST_OUTPUT } from './paths.ts';

/** Clears the log output the log scan reads, and insists on PostgreSQL unless it was turned off. */
export default async function setup(): Promise<void> {
  rmSync(TEST_OUTPUT, { recursive: true, force: true });
  mkdirSync(LOG_DIR, { recursive: true });
  if (!POSTGRES_ENABLED) {
    if (process.env.CI) throw new Error('GATEHOUSE_TEST_POSTGRES=off is not allowed in CI');
    return;
  }
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(
      `PostgreSQL is required by the test suite at ${POSTGRES_ADMIN_URL} (${(err as Error).message}). ` +
        'Start it, or set GATEHOUSE_TEST_POSTGRES=off to run the SQLite half only on your own machine.',
    );
  } finally {
    await client.end().catch(() => {});
  }
}
