import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/paths.ts';

const TICK_RECORD = pathToFileURL(join(REPO_ROOT, 'packages/server/bin/tick-record.js')).href;

/**
 * A fresh Node process that warms process.nextTick, runs full GCs while no next-tick record is
 * alive (as module loading does), builds one more record and reports what V8 made of it: whether
 * that record shares the kept record's hidden class (%HaveSameMap) and the state of nextTick's
 * computed-key sites (its feedback, printed by %DebugPrint).
 */
async function afterFullGc(keepRecord: boolean) {
  const script = `
    const { createHook } = await import('node:async_hooks');
    const kept = ${keepRecord ? `(await import(${JSON.stringify(TICK_RECORD)})).keptTickRecord` : 'undefined'};
    for (let i = 0; i < 500; i++) await new Promise((resolve) => process.nextTick(resolve, i));
    await new Promise((resolve) => setTimeout(resolve, 5));
    gc();
    gc();
    let fresh;
    const hook = createHook({ init(_id, type, _trigger, resource) { if (type === 'TickObject') fresh ??= resource; } }).enable();
    await new Promise((resolve) => process.nextTick(resolve, 1));
    hook.disable();
    const sameClass = kept === undefined ? null : new Function('a', 'b', 'return %HaveSameMap(a, b)')(kept, fresh);
    console.log('RESULT ' + JSON.stringify({ keys: kept === undefined ? null : Reflect.ownKeys(kept).map(String), sameClass }));
    new Function('f', '%DebugPrint(f)')(process.nextTick);
  `;
  // into a file: V8 prints through C's stdio, which can drop output on the non-blocking pipe Node makes of stdout
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tick-'));
  try {
    const out = openSync(join(dir, 'out'), 'w');
    const child = spawn(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', script], { stdio: ['ignore', out, 'inherit'] });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    closeSync(out);
    expect(code).toBe(0);
    const stdout = readFileSync(join(dir, 'out'), 'utf8');
    const result = JSON.parse(stdout.split('\n').find((line) => line.startsWith('RESULT '))!.slice('RESULT '.length)) as { keys: string[] | null; sameClass: boolean | null };
    const sites = stdout.split('\n').filter((line) => line.includes('DefineKeyedOwnPropertyInLiteral'));
    return { ...result, sites };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the kept next-tick record', { timeout: 60_000 }, () => {
  // one process with the record kept serves both tests
  let withRecord: ReturnType<typeof afterFullGc> | undefined;
  const keptRun = () => (withRecord ??= afterFullGc(true));

  it('is a real next-tick record, and records built after a full GC share its hidden class', async () => {
    const { keys, sameClass } = await keptRun();
    expect(keys).toEqual(['callback', 'args', 'Symbol(async_id_symbol)', 'Symbol(trigger_async_id_symbol)']);
    expect(sameClass).toBe(true);
  });

  it("keeps nextTick's computed-key sites monomorphic across a full GC; without it they turn megamorphic", async () => {
    const kept = await keptRun();
    expect(kept.sites.length).toBeGreaterThanOrEqual(4);
    expect(kept.sites.every((line) => line.includes('MONOMORPHIC'))).toBe(true);

    const notKept = await afterFullGc(false);
    expect(notKept.sites.some((line) => line.includes('MEGAMORPHIC'))).toBe(true);
  });
});
