import { Command } from 'commander';
import { loadCatalog } from '../catalog/index.ts';
import { loadConfig } from '../config.ts';
import { migrateToLatest, openStore } from '../store/index.ts';
import { print, printJson } from './context.ts';

export function migrateCommand(): Command {
  return new Command('migrate').description('bring the database schema up to date').action(async () => {
    const config = loadConfig();
    const store = openStore(config.database);
    try {
      const applied = await migrateToLatest(store.db);
      print(applied.length ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
    } finally {
      await store.close();
    }
  });
}

export function providersCommand(): Command {
  const providers = new Command('providers').description('the provider catalog');
  providers
    .command('list')
    .description('list the providers Gatehouse can connect')
    .option('--category <category>', 'only this category, e.g. storage')
    .option('--json', 'print JSON')
    .action((opts) => {
      const config = loadConfig();
      const catalog = loadCatalog({ extraDir: config.providersDir, allowInsecure: config.allowInsecureUpstreams });
      const list = catalog.list({ category: opts.category });
      if (opts.json) return printJson(list);
      const width = Math.max(...list.map((e) => e.id.length), 2);
      for (const entry of list) print(`${entry.id.padEnd(width)}  ${entry.name}  [${entry.categories.join(', ')}]`);
    });
  return providers;
}
