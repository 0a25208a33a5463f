import { Command } from 'commander';
import { ErrorCode, fail } from '../errors.ts';
import { createApp, deleteApp, listApps, updateApp } from '../authorization/index.ts';
import { appIdOf, disableWebhook, getWebhook, setWebhook } from '../webhooks/index.ts';
import { print, printJson, splitScopes, withServices } from './context.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function appsCommand(): Command {
  const apps = new Command('apps').description('register and manage the apps that use Gatehouse');
  apps
    .command('create <name>')
    .description('register an app; prints its client secret and API key once')
    .requiredOption('--redirect-uri <uri>', 'an exact redirect URI (repeat for several)', collect)
    .option('--scopes <scopes>', 'every scope the app may ask for (space or comma separated)', 'accounts:read')
    .option('--default-scopes <scopes>', 'asked for when a request names none (default: --scopes)')
    .option('--optional-scopes <scopes>', 'scopes the app may ask for in addition to the defaults')
    .option('--trusted-origin <origin>', 'an origin the browser authenticator may answer (repeat)', collect)
    .option('--public', 'a public client (browser or native app, no secret, PKCE required)')
    .option('--allow-credentials', 'let the API key read upstream access tokens (GET /v1/accounts/:id/credentials)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts) => {
      const defaults = splitScopes(opts.defaultScopes);
      const optional = splitScopes(opts.optionalScopes) ?? [];
      const scopes = opts.optionalScopes && defaults ? [...defaults, ...optional] : [...(splitScopes(opts.scopes) ?? []), ...optional];
      const created = await withServices((s) =>
        createApp(s, {
          name,
          redirectUris: opts.redirectUri,
          scopes,
          defaultScopes: defaults,
          trustedOrigins: opts.trustedOrigin,
          public: Boolean(opts.public),
          allowCredentials: Boolean(opts.allowCredentials),
        }),
      );
      if (opts.json) return printJson({ client_id: created.app.id, client_secret: created.clientSecret, api_key: created.apiKey, app: created.app });
      print(`Created app "${created.app.name}" (${created.app.clientType}).`);
      print(`client_id:     ${created.app.id}`);
      if (created.clientSecret) print(`client_secret: ${created.clientSecret}`);
      print(`api_key:       ${created.apiKey}`);
      print();
      print('The secret and the API key are shown only now; Gatehouse keeps only their hashes.');
    });
  apps
    .command('list')
    .description('list the registered apps')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const list = await withServices(listApps);
      if (opts.json) return printJson(list);
      if (list.length === 0) return print('No apps yet: gatehouse apps create <name> --redirect-uri <uri>');
      for (const app of list) print(`${app.id}  ${app.name}  ${app.clientType}  scopes: ${app.scopes.join(' ')}  redirect: ${app.redirectUris.join(' ')}`);
    });
  apps
    .command('update <app>')
    .description("change an app's switches (by client_id or name)")
    .option('--allow-credentials', 'let the API key read upstream access tokens (GET /v1/accounts/:id/credentials)')
    .option('--no-allow-credentials', 'stop that (the default)')
    .option('--json', 'print JSON')
    .action(async (app: string, opts: { allowCredentials?: boolean; json?: boolean }) => {
      const updated = await withServices((s) => updateApp(s, app, { allowCredentials: opts.allowCredentials }));
      if (opts.json) return printJson(updated);
      print(`App "${updated.name}" (${updated.id}): credentials endpoint ${updated.allowCredentials ? 'on' : 'off'}.`);
    });
  apps
    .command('delete <app>')
    .description('delete an app (by client_id or name) with its integrations and accounts')
    .action(async (app: string) => {
      const deleted = await withServices((s) => deleteApp(s, app));
      print(`Deleted app "${deleted.name}" (${deleted.id}).`);
    });
  apps
    .command('webhook <app>')
    .description("set, show or turn off an app's webhook (by client_id or name); a new URL gets a new secret, printed once")
    .option('--url <url>', 'where events are POSTed (https; http only in development)')
    .option('--disable', 'turn the webhook off (pending deliveries are given up)')
    .option('--json', 'print JSON')
    .action(async (app: string, opts) => {
      if (opts.url && opts.disable) fail(ErrorCode.invalidRequest, 'use either --url or --disable');
      const result = await withServices(async (s) => {
        const appId = await appIdOf(s, app);
        if (opts.url) return { set: await setWebhook(s, appId, opts.url as string, 'operator') };
        if (opts.disable) return { view: await disableWebhook(s, appId, 'operator') };
        return { view: await getWebhook(s, appId) };
      });
      if (opts.json) return printJson(result.set ?? result.view);
      if (result.set) {
        print(`Webhook set: ${result.set.url}`);
        print(`secret: ${result.set.secret}`);
        print();
        print('The secret is shown only now: verify each delivery\'s Gatehouse-Signature with it.');
        return;
      }
      const view = result.view!;
      print(view.enabled ? `Webhook: ${view.url}` : 'No webhook is set.');
    });
  return apps;
}

