import type { Kysely } from 'kysely';

// Frozen in time: imports nothing of the app.
// Whether an app's API key may read an account's upstream access token (GET /v1/accounts/:id/credentials).
// An integer 0/1 rather than a boolean: the same on SQLite and PostgreSQL.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('apps')
    .addColumn('allow_credentials', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('apps').dropColumn('allow_credentials').execute();
}
