import type { Insertable, Selectable } from 'kysely';
import type { Db } from './open.ts';
import type { IntegrationsTable } from './schema.ts';

export type IntegrationRow = Selectable<IntegrationsTable>;

/** Creates or replaces the app's integration with one provider (one per app and provider). */
export async function upsertIntegration(db: Db, row: Insertable<IntegrationsTable>): Promise<IntegrationRow> {
  return db
    .insertInto('integrations')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['app_id', 'provider']).doUpdateSet({
        client_id: row.client_id,
        client_secret_sealed: row.client_secret_sealed,
        scopes: row.scopes,
        settings: row.settings,
        updated_at: row.updated_at,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findIntegration(db: Db, appId: string, provider: string): Promise<IntegrationRow | undefined> {
  return db
    .selectFrom('integrations')
    .selectAll()
    .where('app_id', '=', appId)
    .where('provider', '=', provider)
    .executeTakeFirst();
}

export async function listIntegrations(db: Db, appId: string): Promise<IntegrationRow[]> {
  return db.selectFrom('integrations').selectAll().where('app_id', '=', appId).orderBy('provider').execute();
}

export async function deleteIntegration(db: Db, appId: string, provider: string): Promise<boolean> {
  const r = await db.deleteFrom('integrations').where('app_id', '=', appId).where('provider', '=', provider).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
