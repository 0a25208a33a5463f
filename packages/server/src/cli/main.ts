import { Command } from 'commander';
import { CatalogError } from '../catalog/index.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { GatehouseError } from '../errors.ts';
import { MigrationError } from '../store/index.ts';
import { appsCommand } from './apps.ts';
import { auditCommand } from './audit.ts';
import { integrationsCommand } from './integrations.ts';
import { keysCommand } from './keys.ts';
import { migrateCommand, providersCommand } from './system.ts';
import { serve } from '../main.ts';

export function program(): Command {
  const cli = new Command('gatehouse')
    .description('Gatehouse: OAuth account connections for your app')
    .showHelpAfterError()
    .exitOverride();
  cli
    .command('serve')
    .description('run the server (migrates the database first)')
    .action(async () => {
      await serve(loadConfig());
    });
  cli.addCommand(migrateCommand());
  cli.addCommand(appsCommand());
  cli.addCommand(integrationsCommand());
  cli.addCommand(providersCommand());
  cli.addCommand(auditCommand());
  cli.addCommand(keysCommand());
  return cli;
}

/** Runs one command; a known failure prints one clear line and exits non-zero, never a stack. */
export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    const exit = (line: string, code: number) => {
      process.stderr.write(`gatehouse: ${line}\n`);
      process.exit(code);
    };
    if (err && typeof err === 'object' && 'code' in err && String(err.code).startsWith('commander.')) {
      const exitCode = (err as { exitCode?: number }).exitCode ?? 1;
      process.exit(exitCode);
    }
    if (err instanceof ConfigError) return exit(`invalid configuration: ${err.message}`, 2);
    if (err instanceof CatalogError) return exit(`invalid provider entry: ${err.message}`, 2);
    if (err instanceof MigrationError) return exit(err.message, 1);
    if (err instanceof GatehouseError) return exit(err.description, 1);
    if (err instanceof Error && 'code' in err && (err.code === 'ECONNREFUSED' || err.code === 'EADDRINUSE')) {
      return exit(`${err.message}`, 1);
    }
    throw err;
  }
}

