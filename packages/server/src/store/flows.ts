import type { Insertable, Selectable } from 'kysely';
import type { Db } from './open.ts';
import type { ConnectFlowsTable } from './schema.ts';

export type ConnectFlowRow = Selectable<ConnectFlowsTable>;

export async function insertFlow(db: Db, row: Insertable<ConnectFlowsTable>): Promise<void> {
  await db.insertInto('connect_flows').values(row).execute();
}

/** Removes and returns the flow: a flow is used at most once, whatever the outcome. */
export async function takeFlow(db: Db, id: string): Promise<ConnectFlowRow | undefined> {
  return db.deleteFrom('connect_flows').where('id', '=', id).returningAll().executeTakeFirst();
}
