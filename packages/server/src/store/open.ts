import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type PostgresPool, type PostgresPoolClient, type SqliteDatabase } from 'kysely';
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
    // a request waiting for a connection gets an error, not a hang, while the server is away
    connectionTimeoutMillis: 5000,
    // Millisecond timestamps are bigint columns; they fit a JS number exactly.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID || oid === NUMERIC_OID ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
}

/**
 * SQL texts that PostgreSQL keeps parsed per connection, under a name (a prepared statement):
 * the group commit's multi-row INSERTs (batch.ts), whose parsing and planning took about a
 * quarter of PostgreSQL's CPU for a 25-row batch. Only texts registered here are named, because
 * each stays prepared on every connection until it closes: the set must stay small and fixed. No
 * query that returns rows is named, so a column added by a newer instance's migration cannot
 * break a statement prepared before it.
 */
const preparedNames = new Map<string, string>();
const MAX_PREPARED = 256;

export function keepPrepared(text: string): void {
  if (!preparedNames.has(text) && preparedNames.size < MAX_PREPARED) preparedNames.set(text, `gatehouse_${preparedNames.size}`);
}

/** The pool as Kysely sees it, with the registered texts sent as named statements. */
function namingPrepared(pool: pg.Pool): PostgresPool {
  return {
    async connect() {
      const client = await pool.connect();
      const query = (text: string, values: readonly unknown[]) => {
        const name = preparedNames.get(text);
        return name ? client.query({ name, text, values: values as unknown[] }) : client.query(text, values as unknown[]);
      };
      // Kysely's other form of query() takes a cursor, which only streamed queries use (none here)
      return { query, release: () => client.release() } as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
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

/**
 * SQLite's page cache for the server's connection, at most 32 MiB (it grows only with the pages
 * read). SQLite's default, 2 MiB, holds the indexes of a small store but not the pages a large one
 * keeps coming back to: with a million accounts and tokens, each credential looked up again once
 * its 1-second cache entry ran out went back to the file (about 5% of a verify's throughput).
 */
const PAGE_CACHE_KIB = 32 * 1024;

/** Opens the database named by the config (creating a SQLite file and its folder if needed). */
export function openStore(target: StoreTarget): Store {
  if (target.kind === 'sqlite') {
    if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
    const database = new SQLite(target.path);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    database.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
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
  // An idle client losing its server (restart) must not crash the process…
  pool.on('error', () => {});
  // …nor one checked out between two queries (a transaction waiting on an upstream call): its
  // next query fails and the error handling answers 503; the event itself needs a listener.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: namingPrepared(pool) }) });
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

/** Error codes meaning "the database is not there right now", not "this query is wrong". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '08000', // connection_exception
  '08001',
  '08003',
  '08004',
  '08006',
  'SQLITE_BUSY',
]);

/** True for a failure to reach the database (restart, failover, network), as opposed to a bug. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/.test(message)) return true;
  }
  return false;
}
