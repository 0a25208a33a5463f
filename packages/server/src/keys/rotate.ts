import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Services } from '../services.ts';
import { recordAudit } from '../store/index.ts';
import { newId } from '../vault/index.ts';
import { kidOfSealed, loose, notUnder, SEALED_TABLES, type LooseDb, type SealedTable } from './sealed.ts';

export const ROTATION_CURSOR_FILE = 'key-rotation.json';

/** Where an interrupted rotation stopped: the last primary key done in `table`. */
export interface RotationCursor {
  activeKid: string;
  table: string;
  after: string;
}

/** One selected batch, before it is written. */
export interface RotationBatch {
  table: string;
  ids: string[];
}

export interface RotateOptions {
  /** Rows read and re-sealed per transaction. */
  batchSize?: number;
  /** After each batch is committed and the cursor saved; `total` is what this run set out to do. Throwing stops the rotation (resumable). */
  onProgress?: (done: number, total: number) => void | Promise<void>;
  /** The cursor file; default `<dataDir>/key-rotation.json`. */
  cursorFile?: string;
  /** Called with each batch after it is read and before it is written (a seam for tests of concurrent writes). */
  beforeWrite?: (batch: RotationBatch) => void | Promise<void>;
}

/** A value that could not be opened (its key is not in the keyring, or it is damaged); never its content. */
export interface RotationFailure {
  table: string;
  id: string;
  field: string;
  reason: string;
}

export interface RotationResult {
  activeKid: string;
  /** Values opened under an older key and sealed again under the active one. */
  resealed: number;
  /** Values rewritten by the server between read and write: left as they are (already under the active key). */
  skipped: number;
  /** Values that did not open; they stay as they are. */
  failed: number;
  failures: RotationFailure[];
  /** Values still not under the active key when the run ended (failed ones, and any sealed under an old key meanwhile). */
  remaining: number;
  /** Whether this run picked up an interrupted one from its cursor file. */
  resumed: boolean;
}

const MAX_FAILURES_LISTED = 100;

export function rotationCursorFile(services: Pick<Services, 'config'>): string {
  return join(services.config.dataDir, ROTATION_CURSOR_FILE);
}

/** The saved cursor, if it belongs to a rotation to the same active key; anything else starts over. */
function readCursor(path: string, activeKid: string): RotationCursor | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const cursor = JSON.parse(readFileSync(path, 'utf8')) as Partial<RotationCursor>;
    const known = SEALED_TABLES.some((t) => t.table === cursor.table);
    if (cursor.activeKid === activeKid && known && typeof cursor.after === 'string') {
      return { activeKid, table: cursor.table!, after: cursor.after };
    }
  } catch {
    // A damaged cursor only costs a rescan: every value is checked by its kid anyway.
  }
  return undefined;
}

function writeCursor(path: string, cursor: RotationCursor): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(cursor)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

/** Values not under `kid` in rows of `spec` after `after` (all rows without it). */
async function countOutdated(db: LooseDb, spec: SealedTable, kid: string, after?: string): Promise<number> {
  let total = 0;
  for (const c of spec.columns) {
    let query = db
      .selectFrom(spec.table)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where(notUnder(c.column, kid));
    if (after !== undefined) query = query.where(spec.pk, '>', after);
    const row = await query.executeTakeFirstOrThrow();
    total += Number(row.n);
  }
  return total;
}

/**
 * Re-seals every sealed value that is not under the active key, table by table in primary-key
 * batches (each batch's writes in one transaction). Each value is opened under its own kid with its exact AAD,
 * sealed under the active key and written only if the column still holds what was read
 * (compare-and-set): a value the server rewrote meanwhile, e.g. a token refresh, is newer and
 * already under the active key, so it is skipped rather than overwritten with a stale one.
 * After each batch the position is saved in the cursor file; a later run resumes there, and a
 * finished run removes it. The server keeps serving throughout: its keyring opens the old kids.
 */
export async function rotateKeys(services: Pick<Services, 'db' | 'vault' | 'config' | 'logger' | 'clock'>, options: RotateOptions = {}): Promise<RotationResult> {
  const batchSize = options.batchSize ?? 200;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer');
  const db = loose(services.db);
  const { vault } = services;
  const kid = vault.activeKid;
  const cursorPath = options.cursorFile ?? rotationCursorFile(services);
  const start = readCursor(cursorPath, kid);
  const startIndex = start ? SEALED_TABLES.findIndex((t) => t.table === start.table) : 0;
  const tables = SEALED_TABLES.slice(startIndex);

  let total = 0;
  for (const [i, spec] of tables.entries()) total += await countOutdated(db, spec, kid, i === 0 ? start?.after : undefined);

  const result: RotationResult = { activeKid: kid, resealed: 0, skipped: 0, failed: 0, failures: [], remaining: 0, resumed: Boolean(start) };
  for (const [i, spec] of tables.entries()) {
    let after = i === 0 ? start?.after : undefined;
    for (;;) {
      let query = db
        .selectFrom(spec.table)
        .select([spec.pk, ...spec.columns.map((c) => c.column)])
        .where((eb) => eb.or(spec.columns.map((c) => notUnder(c.column, kid))))
        .orderBy(spec.pk)
        .limit(batchSize);
      if (after !== undefined) query = query.where(spec.pk, '>', after);
      const rows = await query.execute();
      if (rows.length === 0) break;
      await options.beforeWrite?.({ table: spec.table, ids: rows.map((r) => r[spec.pk]!) });

      // Seal outside the transaction; the writes are compare-and-set, so reading first is safe.
      const writes: { id: string; column: string; old: string; fresh: string }[] = [];
      for (const row of rows) {
        const id = row[spec.pk]!;
        for (const c of spec.columns) {
          const old = row[c.column];
          if (old === null || old === undefined || kidOfSealed(old) === kid) continue;
          const context = { table: spec.table, id, field: c.field };
          try {
            writes.push({ id, column: c.column, old, fresh: vault.seal(vault.open(old, context), context) });
          } catch (err) {
            result.failed++;
            const reason = err instanceof Error ? err.message : String(err);
            if (result.failures.length < MAX_FAILURES_LISTED) result.failures.push({ table: spec.table, id, field: c.field, reason });
          }
        }
      }
      await db.transaction().execute(async (trx) => {
        for (const w of writes) {
          const updated = await trx
            .updateTable(spec.table)
            .set({ [w.column]: w.fresh })
            .where(spec.pk, '=', w.id)
            .where(w.column, '=', w.old)
            .executeTakeFirst();
          if (Number(updated.numUpdatedRows) === 1) result.resealed++;
          else result.skipped++;
        }
      });
      after = rows.at(-1)![spec.pk]!;
      writeCursor(cursorPath, { activeKid: kid, table: spec.table, after });
      await options.onProgress?.(Math.min(result.resealed + result.skipped + result.failed, total), total);
      if (rows.length < batchSize) break;
    }
  }
  rmSync(cursorPath, { force: true });
  for (const spec of SEALED_TABLES) result.remaining += await countOutdated(db, spec, kid);
  services.logger.info(
    { activeKid: kid, resealed: result.resealed, skipped: result.skipped, failed: result.failed, remaining: result.remaining },
    'key rotation finished',
  );
  for (const f of result.failures) services.logger.warn({ table: f.table, id: f.id, field: f.field, reason: f.reason }, 'sealed value did not open');
  // an operator's act across every app: no app_id, so only `gatehouse audit` shows it
  await recordAudit(services.db, {
    id: newId('aud'),
    appId: null,
    actor: 'operator',
    action: 'key.rotated',
    subject: kid,
    detail: { resealed: result.resealed, skipped: result.skipped, failed: result.failed, remaining: result.remaining, resumed: result.resumed },
    at: services.clock(),
  });
  return result;
}
