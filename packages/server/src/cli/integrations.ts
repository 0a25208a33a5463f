import { Command } from 'commander';
import { listAppIntegrations, setIntegration } from '../connect/index.ts';
import { GatehouseError, ErrorCode } from '../errors.ts';
import { print, printJson, splitScopes, withServices } from './context.ts';

function collectParam(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new GatehouseError(ErrorCode.invalidRequest, `--param takes name=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function integrationsCommand(): Command {
  const integrations = new Command('integrations').description("an app's own credentials at each provider");
  integrations
    .command('set <app> <provider>')
    .description('create or replace the integration; the client secret is sealed')
    .requiredOption('--client-id <id>', 'the client id the provider gave the app')
    .option('--client-secret <secret>', 'the client secret (or set GATEHOUSE_CLIENT_SECRET to keep it out of shell history)')
    .option('--scopes <scopes>', "upstream scopes to ask for (default: the provider entry's)")
    .option('--issuer <url>', 'the issuer, for the generic oidc provider')
    .option('--param <name=value>', 'a template value, e.g. subdomain=my-shop (repeat)', collectParam)
    .action(async (app: string, provider: string, opts) => {
      const clientSecret = opts.clientSecret ?? process.env.GATEHOUSE_CLIENT_SECRET;
      if (!clientSecret) throw new GatehouseError(ErrorCode.invalidRequest, 'give --client-secret or GATEHOUSE_CLIENT_SECRET');
      const view = await withServices((s) =>
        setIntegration(s, {
          app,
          provider,
          clientId: opts.clientId,
          clientSecret,
          scopes: splitScopes(opts.scopes),
          issuer: opts.issuer,
          params: opts.param,
        }),
      );
      print(`Integration ${view.provider} set for app ${view.appId} (scopes: ${view.scopes.join(' ') || 'none'}).`);
    });
  integrations
    .command('list <app>')
    .description("list an app's integrations (never the secrets)")
    .option('--json', 'print JSON')
    .action(async (app: string, opts) => {
      const list = await withServices((s) => listAppIntegrations(s, app));
      if (opts.json) return printJson(list);
      if (list.length === 0) return print('No integrations yet: gatehouse integrations set <app> <provider> --client-id … --client-secret …');
      for (const i of list) print(`${i.provider}  client_id: ${i.clientId}  scopes: ${i.scopes.join(' ')}`);
    });
  return integrations;
}
