import { finishConnect } from '../connect/index.ts';
import type { Services } from '../services.ts';
import type { AccountRow, Db, UpsertedAccount } from '../store/index.ts';
import { findAccount } from '../store/index.ts';
import { enqueueWebhookEvent, type WebhookEventType } from '../webhooks/index.ts';
import { toAccountView } from './views.ts';

/** Queues an account event for the app's webhook through `db` (the state change's transaction where there is one). */
export async function emitAccountEvent(
  db: Db,
  type: WebhookEventType,
  account: AccountRow,
  now: number,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await enqueueWebhookEvent(db, { appId: account.app_id, type, data: { account: toAccountView(account), ...extra }, now });
}

/** The events of a (re)connect: connected or reconnected, and recovered when the account needed a reconnect. */
export async function emitConnected(db: Db, saved: UpsertedAccount, now: number): Promise<void> {
  await emitAccountEvent(db, saved.created ? 'account.connected' : 'account.reconnected', saved.account, now);
  if (saved.previousStatus === 'needs_reauth') await emitAccountEvent(db, 'account.recovered', saved.account, now, { reason: 'reconnected' });
}

/** Re-reads the account through `db` (after a status change) and queues the event with it. */
export async function emitForAccount(
  db: Db,
  appId: string,
  accountId: string,
  type: WebhookEventType,
  now: number,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const account = await findAccount(db, appId, accountId);
  if (account) await emitAccountEvent(db, type, account, now, extra);
}

/** Completes an upstream connect (see connect/finishConnect) and queues its webhook events in the same transaction. */
export async function completeConnect(services: Services, callback: URLSearchParams) {
  return finishConnect(services, callback, { within: (trx, saved) => emitConnected(trx, saved, services.clock()) });
}
