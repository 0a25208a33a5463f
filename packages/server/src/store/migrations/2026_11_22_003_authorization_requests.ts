import type { Kysely } from 'kysely';

// Frozen in time: imports nothing of the app.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('authorization_requests')
    .addColumn('id', 'text', (c) => c.primaryKey()) // SHA-256 of the request handle
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('state', 'text')
    .addColumn('code_challenge', 'text')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('providers', 'text', (c) => c.notNull())
    .addColumn('end_user_id', 'text')
    .addColumn('login_hint', 'text')
    .addColumn('account_id', 'text') // reconnect this account
    .addColumn('connected_account_id', 'text') // the account the upstream sign-in produced
    .addColumn('browser_binding', 'text', (c) => c.notNull()) // SHA-256 of the cookie value
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('authorization_requests_expires_idx').on('authorization_requests').column('expires_at').execute();
  await db.schema.createIndex('authorization_codes_expires_idx').on('authorization_codes').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('authorization_codes_expires_idx').ifExists().execute();
  await db.schema.dropTable('authorization_requests').ifExists().execute();
}
