import type { Kysely } from 'kysely';

// Frozen in time: imports nothing of the app.
// The authenticator's mailbox: the result that reached the relay page, for a popup whose
// opener link a provider's Cross-Origin-Opener-Policy cut. Sealed, short-lived, read once.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('relay_results')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('result_sealed', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('relay_results_expires_at').on('relay_results').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('relay_results').execute();
}
