import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { StoreTarget } from '../../src/store/index.ts';
import { POSTGRES_ADMIN_URL, POSTGRES_ENABLED } from './paths.ts';

export type StoreKind = StoreTarget['kind'];
/** Every store-touching suite runs once per kind. */
export const STORE_KINDS: StoreKind[] = POSTGRES_ENABLED ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestDatabase {
  target: StoreTarget;
  /** The SQLite file, for tests that read it raw. */
  sqlitePath?: string;
  drop(): Promise<void>;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A brand-new empty database of the given kind: a SQLite file, or a PostgreSQL database of its own. */
export async function freshDatabase(kind: StoreKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
    const path = join(dir, 'gatehouse.db');
    return { target: { kind, path }, sqlitePath: path, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    target: { kind, url: url.href },
    drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}
