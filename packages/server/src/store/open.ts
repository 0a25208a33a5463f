import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import type { Database } from './schema.ts';
import { migrationProvider } from './migrations/index.ts';
import { startCheckpointer } from './checkpoint.ts';

export type StoreTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
export type Db = Kysely<Database>;

export interface Store {
  readonly db: Db;
  readonly kind: StoreTarget['kind'];
  close(): Promise<void>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

function pgPool(url: string): pg.Pool {
  return new pg.Pool({
    connectionString: url,
    max: 10,
    // Millisecond timestamps are bigint columns; they fit a JS number exactly.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID || oid === NUMERIC_OID ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
}

/** Prepared statements kept per SQLite connection (least recently used beyond that are finalised by GC). */
export const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely's SQLite driver prepares every query anew; this keeps the prepared statements by SQL
 * text and reuses them (a query's SQL is the same on every call, only its parameters change).
 * Safe because the driver holds its one connection under a mutex: no statement runs twice at once.
 */
export function withStatementCache(database: SQLite.Database, size = STATEMENT_CACHE_SIZE): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(text: string) {
      let statement = statements.get(text);
      if (statement) {
        statements.delete(text);
      } else {
        statement = database.prepare(text);
        if (statements.size >= size) statements.delete(statements.keys().next().value!);
      }
      statements.set(text, statement);
      return statement as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}

/** Opens the database named by the config (creating a SQLite file and its folder if needed). */
export function openStore(target: StoreTarget): Store {
  if (target.kind === 'sqlite') {
    if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
    const database = new SQLite(target.path);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    const checkpointer = target.path === ':memory:' ? undefined : startCheckpointer(database, target.path);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
    return {
      db,
      kind: 'sqlite',
      async close() {
        await checkpointer?.stop();
        await db.destroy();
      },
    };
  }
  const pool = pgPool(target.url);
  // An idle client losing its server (restart) must not crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', close: () => db.destroy() };
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Brings the schema to the latest migration; returns the names applied now. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw new MigrationError(`migration failed: ${(error as Error).message ?? error}`, { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when every known migration has been applied (for readiness checks). */
export async function migrationsCurrent(db: Db): Promise<boolean> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const all = await migrator.getMigrations();
  return all.every((m) => m.executedAt !== undefined);
}

/** A cheap round trip to the database. */
export async function ping(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
