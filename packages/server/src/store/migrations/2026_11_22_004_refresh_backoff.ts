import type { Kysely } from 'kysely';

// Frozen in time: imports nothing of the app.
// Backoff state of the upstream refresh, kept on the token row that the refresh locks.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('account_tokens')
    .addColumn('refresh_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('account_tokens').addColumn('refresh_retry_at', 'bigint').execute();
  await db.schema.alterTable('account_tokens').addColumn('refresh_error', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('account_tokens').dropColumn('refresh_error').execute();
  await db.schema.alterTable('account_tokens').dropColumn('refresh_retry_at').execute();
  await db.schema.alterTable('account_tokens').dropColumn('refresh_failures').execute();
}
