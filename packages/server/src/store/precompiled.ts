import { CompiledQuery, type Compilable } from 'kysely';
import type { Db } from './open.ts';

/**
 * A query on a hot path compiled once per database handle: Kysely builds and compiles a query
 * tree on every call, which on a lookup by primary key cost more (in time and garbage) than
 * running it. `build` receives stand-ins for the parameters; the compiled SQL is then run with
 * the real values in the places where the stand-ins ended up.
 */
export function precompiled<Row, P extends unknown[]>(build: (db: Db, ...params: P) => Compilable<Row>): (db: Db, ...params: P) => Promise<Row | undefined> {
  const byDb = new WeakMap<Db, { sql: string; slots: number[] } | null>();
  return async (db, ...params) => {
    let compiled = byDb.get(db);
    if (compiled === undefined) {
      const standIns = params.map((_, i) => `\u0000param${i}\u0000`) as P;
      const query = build(db, ...standIns).compile();
      const slots = query.parameters.map((value) => standIns.indexOf(value as never));
      // every parameter must be one of ours (no constant bound by the builder itself)
      compiled = slots.every((slot) => slot >= 0) ? { sql: query.sql, slots } : null;
      byDb.set(db, compiled);
    }
    if (compiled === null) return (await db.executeQuery(build(db, ...params).compile())).rows[0];
    const result = await db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, compiled.slots.map((slot) => params[slot])));
    return result.rows[0];
  };
}
