import { Command, InvalidArgumentError } from 'commander';
import { ErrorCode, GatehouseError } from '../errors.ts';
import { keyStatus, rotateKeys } from '../keys/index.ts';
import { generateKeyringSpec, KeyringError, parseKeyring } from '../vault/index.ts';
import { print, printJson, withServices } from './context.ts';

const BAR_WIDTH = 30;

/** `[#####-----] 1200/2400` */
export function progressBar(done: number, total: number, width = BAR_WIDTH): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : width;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive whole number');
  return n;
}

export function keysCommand(): Command {
  const keys = new Command('keys').description('the keys sealing stored secrets (GATEHOUSE_SECRET_KEYS)');

  keys
    .command('status')
    .description('how many sealed values each key holds; the first key of GATEHOUSE_SECRET_KEYS is active')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const status = await withServices((s) => keyStatus(s));
      if (opts.json) return printJson(status);
      const width = Math.max(3, ...status.kids.map((k) => k.kid.length));
      const countWidth = Math.max(6, ...status.kids.map((k) => String(k.count).length));
      print(`${'KID'.padEnd(width)}  ${'VALUES'.padStart(countWidth)}`);
      for (const k of status.kids) {
        const note = k.active ? 'active' : k.inKeyring ? '' : 'NOT IN KEYRING: these values cannot be opened';
        print(`${k.kid.padEnd(width)}  ${String(k.count).padStart(countWidth)}  ${note}`.trimEnd());
      }
      print();
      if (status.outdated === 0) {
        print(`Every sealed value is under the active key "${status.activeKid}"; older keys may be removed from GATEHOUSE_SECRET_KEYS.`);
      } else {
        print(`${status.outdated} sealed value(s) are under older keys: run gatehouse keys rotate, and keep those keys until it reports 0.`);
      }
    });

  keys
    .command('rotate')
    .description('re-seal every value under the active key (safe while the server runs; resumable)')
    .option('--batch-size <n>', 'rows per batch', positiveInteger, 200)
    .action(async (opts: { batchSize: number }) => {
      const tty = Boolean(process.stderr.isTTY);
      let drawn = false;
      const result = await withServices((s) =>
        rotateKeys(s, {
          batchSize: opts.batchSize,
          onProgress: (done, total) => {
            const bar = progressBar(done, total);
            process.stderr.write(tty ? `\r${bar}` : `${bar}\n`);
            drawn = true;
          },
        }),
      ).finally(() => {
        if (tty && drawn) process.stderr.write('\n');
      });
      if (result.resumed) print('Resumed an interrupted rotation.');
      print(`Re-sealed ${result.resealed} value(s) under key "${result.activeKid}".`);
      if (result.skipped > 0) print(`Skipped ${result.skipped} value(s) the server rewrote meanwhile (already under the active key).`);
      for (const f of result.failures) print(`Did not open: ${f.table}.${f.field} of ${f.id} (${f.reason})`);
      if (result.failed > 0) {
        throw new GatehouseError(ErrorCode.serverError, `${result.failed} sealed value(s) did not open and stay under their old key`);
      }
      print(
        result.remaining === 0
          ? 'Every sealed value is under the active key; older keys may be removed from GATEHOUSE_SECRET_KEYS.'
          : `${result.remaining} value(s) are still under older keys (sealed meanwhile): run gatehouse keys rotate again.`,
      );
    });

  keys
    .command('generate')
    .description('print a new kid:base64key to put first in GATEHOUSE_SECRET_KEYS')
    .option('--kid <kid>', 'the key id (default: k<time>)')
    .action((opts: { kid?: string }) => {
      const spec = generateKeyringSpec(opts.kid);
      try {
        parseKeyring(spec);
      } catch (err) {
        if (err instanceof KeyringError) throw new GatehouseError(ErrorCode.invalidRequest, '--kid takes 1 to 32 letters, digits, - or _');
        throw err;
      }
      print(spec);
      process.stderr.write(
        'Put it first in GATEHOUSE_SECRET_KEYS (keep the old keys after it), restart, then run gatehouse keys rotate.\n',
      );
    });

  return keys;
}
