import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';

/**
 * Asks `ask` every 20 ms for two cache bounds and a half, running `revoke` (a change made by
 * another process, past this one's caches) once the first bound has gone by, so that a busy entry
 * has been read again in the background at least once. Then checks what a user of several
 * instances relies on: admitted before, refused from one bound (+100 ms) after the revocation on,
 * and, once refused, never admitted again. `statuses` turns one answer into one status per side.
 */
export async function expectRefusedWithinBound(
  boundMs: number,
  ask: () => Promise<number[]>,
  revoke: () => Promise<void>,
  statuses: { admitted: number; refused: number },
): Promise<void> {
  const answers: { at: number; statuses: number[] }[] = [];
  const start = Date.now();
  let revokedAt = Infinity;
  while (Date.now() - start < 2.5 * boundMs) {
    const at = Date.now();
    answers.push({ at, statuses: await ask() });
    if (revokedAt === Infinity && at - start > boundMs) {
      await revoke();
      revokedAt = Date.now();
    }
    await sleep(20);
  }
  const before = answers.filter((a) => a.at < start + boundMs);
  const after = answers.filter((a) => a.at > revokedAt + boundMs + 100);
  expect(before.length).toBeGreaterThan(3);
  expect(after.length).toBeGreaterThan(3);
  expect(before.every((a) => a.statuses.every((s) => s === statuses.admitted))).toBe(true);
  expect(after.every((a) => a.statuses.every((s) => s === statuses.refused))).toBe(true);
  // a background read cannot bring a revoked credential back
  for (let side = 0; side < answers[0]!.statuses.length; side++) {
    const firstRefusal = answers.findIndex((a) => a.statuses[side] === statuses.refused);
    expect(answers.slice(firstRefusal).every((a) => a.statuses[side] === statuses.refused)).toBe(true);
  }
}
