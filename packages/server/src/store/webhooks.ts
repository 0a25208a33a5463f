import type { Insertable, Selectable } from 'kysely';
import type { Db } from './open.ts';
import type { WebhookDeliveriesTable, WebhookEndpointsTable } from './schema.ts';

export type WebhookEndpointRow = Selectable<WebhookEndpointsTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;

/** Sets (or replaces) the app's one webhook endpoint. */
export async function saveWebhookEndpoint(db: Db, row: Insertable<WebhookEndpointsTable>): Promise<void> {
  await db
    .insertInto('webhook_endpoints')
    .values(row)
    .onConflict((oc) => oc.column('app_id').doUpdateSet({ url: row.url, secret_sealed: row.secret_sealed, updated_at: row.updated_at }))
    .execute();
}

export async function findWebhookEndpoint(db: Db, appId: string): Promise<WebhookEndpointRow | undefined> {
  return db.selectFrom('webhook_endpoints').selectAll().where('app_id', '=', appId).executeTakeFirst();
}

/** Removes the endpoint; deliveries still pending for it are given up. True when there was one. */
export async function deleteWebhookEndpoint(db: Db, appId: string, now: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom('webhook_endpoints').where('app_id', '=', appId).executeTakeFirst();
    await trx
      .updateTable('webhook_deliveries')
      .set({ status: 'dead', last_error: 'the webhook was disabled', next_attempt_at: now })
      .where('app_id', '=', appId)
      .where('status', '=', 'pending')
      .execute();
    return Number(result.numDeletedRows) > 0;
  });
}

export async function insertWebhookDelivery(db: Db, row: Insertable<WebhookDeliveriesTable>): Promise<void> {
  await db.insertInto('webhook_deliveries').values(row).execute();
}

export interface ClaimOptions {
  now: number;
  /** Claimed rows are not due again before this (an instance dying mid-send loses its claim then). */
  leaseUntil: number;
  limit: number;
  /** PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several instances never claim the same row. */
  skipLocked: boolean;
}

/**
 * Claims due deliveries for one attempt each: counts the attempt and moves the due time to the
 * lease's end in one statement, so a second worker (or instance) passes over them.
 */
export async function claimDueDeliveries(db: Db, options: ClaimOptions): Promise<WebhookDeliveryRow[]> {
  return db
    .updateTable('webhook_deliveries')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: options.leaseUntil }))
    .where('id', 'in', (eb) => {
      let due = eb
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', options.now)
        .orderBy('next_attempt_at')
        .limit(options.limit);
      if (options.skipLocked) due = due.forUpdate().skipLocked();
      return due;
    })
    .where('status', '=', 'pending')
    .returningAll()
    .execute();
}

export interface AttemptOutcome {
  status: 'pending' | 'delivered' | 'dead';
  httpStatus: number | null;
  error: string | null;
  nextAttemptAt: number;
  now: number;
}

export async function recordDeliveryAttempt(db: Db, id: string, outcome: AttemptOutcome): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({
      status: outcome.status,
      last_status: outcome.httpStatus,
      last_error: outcome.error,
      next_attempt_at: outcome.nextAttemptAt,
      delivered_at: outcome.status === 'delivered' ? outcome.now : null,
    })
    .where('id', '=', id)
    .execute();
}

/** The app's deliveries, newest first; `before` pages on (created_at, id). */
export async function listWebhookDeliveries(
  db: Db,
  appId: string,
  options: { limit: number; before?: { at: number; id: string } | undefined; status?: string | undefined },
): Promise<WebhookDeliveryRow[]> {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('app_id', '=', appId);
  if (options.status) query = query.where('status', '=', options.status as WebhookDeliveryRow['status']);
  const before = options.before;
  if (before) {
    query = query.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('id', '<', before.id)])]));
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
}

/** Deletes delivered and given-up deliveries created before `before`. */
export async function sweepWebhookDeliveries(db: Db, before: number): Promise<number> {
  const result = await db
    .deleteFrom('webhook_deliveries')
    .where('status', 'in', ['delivered', 'dead'])
    .where('created_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
