import { Command } from 'commander';
import { listAudit } from '../audit/index.ts';
import { findApp } from '../store/index.ts';
import { ErrorCode, fail } from '../errors.ts';
import { print, printJson, withServices } from './context.ts';

export function auditCommand(): Command {
  return new Command('audit')
    .description('who did what and when, newest first')
    .option('--app <app>', 'only this app (client_id or name)')
    .option('--action <action>', 'only this action, e.g. account.released')
    .option('--limit <n>', 'how many events', '50')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const page = await withServices(async (s) => {
        const appId = opts.app ? ((await findApp(s.db, opts.app)) ?? fail(ErrorCode.notFound, `no app "${opts.app}"`)).id : undefined;
        return listAudit(s, { appId, action: opts.action, limit: Number(opts.limit) || 50 });
      });
      if (opts.json) return printJson(page.data);
      for (const e of page.data) print(`${e.created_at}  ${e.action.padEnd(22)} ${e.actor}  ${e.subject ?? ''}  ${e.app_id ?? ''}`);
    });
}
