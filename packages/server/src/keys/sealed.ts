import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Db } from '../store/index.ts';

/** A column holding sealed values, and the AAD field it is sealed under. */
export interface SealedColumn {
  readonly column: string;
  readonly field: string;
}

/** A table with sealed columns; its primary key is the AAD id and the rotation's paging key. */
export interface SealedTable {
  readonly table: string;
  readonly pk: string;
  readonly columns: readonly SealedColumn[];
}

/**
 * Every sealed value in the store, with the exact AAD each is sealed under
 * (`<table>:<pk value>:<field>`, see vault/seal.ts). A new sealed column must be added here,
 * or `gatehouse keys rotate` leaves it under the old key.
 */
export const SEALED_TABLES: readonly SealedTable[] = [
  { table: 'integrations', pk: 'id', columns: [{ column: 'client_secret_sealed', field: 'client_secret' }] },
  {
    table: 'account_tokens',
    pk: 'account_id',
    columns: [
      { column: 'access_token_sealed', field: 'access_token' },
      { column: 'refresh_token_sealed', field: 'refresh_token' },
      { column: 'id_token_sealed', field: 'id_token' },
    ],
  },
  { table: 'connect_flows', pk: 'id', columns: [{ column: 'code_verifier_sealed', field: 'code_verifier' }] },
  { table: 'webhook_endpoints', pk: 'app_id', columns: [{ column: 'secret_sealed', field: 'secret' }] },
  { table: 'relay_results', pk: 'id', columns: [{ column: 'result_sealed', field: 'result' }] },
];

/** The store seen through table and column names known only at run time. */
export type LooseDb = Kysely<Record<string, Record<string, string | null>>>;
export const loose = (db: Db): LooseDb => db as unknown as LooseDb;

/** What a value sealed under `kid` starts with (`v1.<kid>.<iv>.<body>`). */
export const sealedPrefix = (kid: string): string => `v1.${kid}.`;

/** Shown for a value that is not `v1.<kid>.…` at all. */
export const UNRECOGNISED_KID = '?';

/** The kid of a sealed value, read from its prefix without opening it. */
export function kidOfSealed(value: string): string {
  const parts = value.split('.');
  return parts.length === 4 && parts[0] === 'v1' && parts[1] ? parts[1] : UNRECOGNISED_KID;
}

/**
 * SQL true when the column holds a value not sealed under `kid`. substr and <> behave the same
 * on SQLite and PostgreSQL (case-sensitive, unlike LIKE on SQLite).
 */
export function notUnder(column: string, kid: string): RawBuilder<boolean> {
  const prefix = sealedPrefix(kid);
  return sql<boolean>`(${sql.ref(column)} is not null and substr(${sql.ref(column)}, 1, ${sql.lit(prefix.length)}) <> ${prefix})`;
}
