import type { Services } from '../services.ts';
import { kidOfSealed, loose, SEALED_TABLES } from './sealed.ts';

const PAGE = 1000;

export interface ColumnKeyCounts {
  table: string;
  column: string;
  /** Sealed values per kid; `?` counts values that are not sealed values at all. */
  counts: Record<string, number>;
}

export interface KidCount {
  kid: string;
  count: number;
  active: boolean;
  /** False for values the current keyring cannot open (their key was removed too early). */
  inKeyring: boolean;
}

export interface KeyStatus {
  activeKid: string;
  columns: ColumnKeyCounts[];
  /** Every kid of the keyring (in keyring order, zero counts included), then kids found only in the store. */
  kids: KidCount[];
  /** Values not under the active key: what `rotateKeys` has left to do. */
  outdated: number;
}

/** Counts the sealed values of every sealed column by the key they are sealed under. */
export async function keyStatus(services: Pick<Services, 'db' | 'vault'>): Promise<KeyStatus> {
  const db = loose(services.db);
  const { activeKid } = services.vault;
  const columns: ColumnKeyCounts[] = [];
  const totals = new Map<string, number>(services.vault.kids.map((kid) => [kid, 0]));
  for (const spec of SEALED_TABLES) {
    const perColumn = spec.columns.map((c) => ({ table: spec.table, column: c.column, counts: {} as Record<string, number> }));
    let after: string | undefined;
    for (;;) {
      let query = db
        .selectFrom(spec.table)
        .select([spec.pk, ...spec.columns.map((c) => c.column)])
        .orderBy(spec.pk)
        .limit(PAGE);
      if (after !== undefined) query = query.where(spec.pk, '>', after);
      const rows = await query.execute();
      for (const row of rows) {
        spec.columns.forEach((c, i) => {
          const value = row[c.column];
          if (value === null || value === undefined) return;
          const kid = kidOfSealed(value);
          const counts = perColumn[i]!.counts;
          counts[kid] = (counts[kid] ?? 0) + 1;
          totals.set(kid, (totals.get(kid) ?? 0) + 1);
        });
      }
      if (rows.length < PAGE) break;
      after = rows.at(-1)![spec.pk]!;
    }
    columns.push(...perColumn);
  }
  const kids = [...totals].map(([kid, count]) => ({ kid, count, active: kid === activeKid, inKeyring: services.vault.kids.includes(kid) }));
  const outdated = kids.filter((k) => !k.active).reduce((sum, k) => sum + k.count, 0);
  return { activeKid, columns, kids, outdated };
}
