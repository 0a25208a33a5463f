import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from './open.ts';
import type { AppsTable } from './schema.ts';

export type AppRow = Selectable<AppsTable>;

export async function insertApp(
  db: Db,
  app: Insertable<AppsTable>,
  secret: { id: string; hash: string } | null,
  apiKey: { id: string; hash: string },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('apps').values(app).execute();
    if (secret) {
      await trx
        .insertInto('app_secrets')
        .values({ id: secret.id, app_id: app.id, secret_hash: secret.hash, created_at: app.created_at, revoked_at: null })
        .execute();
    }
    await trx
      .insertInto('api_keys')
      .values({ id: apiKey.id, app_id: app.id, key_hash: apiKey.hash, created_at: app.created_at, revoked_at: null })
      .execute();
  });
}

export async function findApp(db: Db, idOrName: string): Promise<AppRow | undefined> {
  return db
    .selectFrom('apps')
    .selectAll()
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
    .executeTakeFirst();
}

export async function findAppById(db: Db, id: string): Promise<AppRow | undefined> {
  return db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listApps(db: Db): Promise<AppRow[]> {
  return db.selectFrom('apps').selectAll().orderBy('created_at').orderBy('id').execute();
}

export async function updateApp(db: Db, id: string, changes: Updateable<AppsTable>): Promise<void> {
  await db.updateTable('apps').set(changes).where('id', '=', id).execute();
}

export async function deleteApp(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('apps').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The app whose live API key hashes to keyHash. */
export async function findAppByApiKeyHash(db: Db, keyHash: string): Promise<AppRow | undefined> {
  return db
    .selectFrom('api_keys')
    .innerJoin('apps', 'apps.id', 'api_keys.app_id')
    .selectAll('apps')
    .where('api_keys.key_hash', '=', keyHash)
    .where('api_keys.revoked_at', 'is', null)
    .executeTakeFirst();
}

/** Hashes of the app's live client secrets (more than one while a secret is being rotated). */
export async function liveSecretHashes(db: Db, appId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('app_secrets')
    .select('secret_hash')
    .where('app_id', '=', appId)
    .where('revoked_at', 'is', null)
    .execute();
  return rows.map((r) => r.secret_hash);
}
