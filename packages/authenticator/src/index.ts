/**
 * Gatehouse's browser authenticator, compatible with Kloudless' Authenticator JS:
 *
 *   const auth = Gatehouse.authenticator(button, { client_id, scope: 'storage' }, (result) => { … });
 *
 * Clicking the element (or `auth.launch()` inside a click) connects an account in a popup and
 * calls back with `{account, access_token, scope, state}` or `{error}`.
 */
import { PopupFlow } from './popup.ts';
import { startRedirect } from './redirect.ts';
import type { AuthenticatorOptions, AuthResult, Callback, GlobalOptions } from './types.ts';

export type { AuthenticatorOptions, AuthResult, Callback, ConnectedAccount, GlobalOptions } from './types.ts';
export { handleRedirect } from './redirect.ts';

export const version = '0.1.0';

/** Gatehouse's base URL from where this script was loaded (`<base>/sdk/authenticator.js`), the default. */
function scriptBase(): string | undefined {
  const script = typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null) : null;
  const match = script?.src ? /^(https?:\/\/.+?)\/sdk\/authenticator\.js(?:[?#].*)?$/.exec(script.src) : null;
  return match?.[1];
}

const globals: Required<GlobalOptions> = { baseUrl: scriptBase() ?? '' };

/** Sets options for every authenticator, e.g. `{baseUrl: 'https://gatehouse.example.com'}`. */
export function setGlobalOptions(options: GlobalOptions): void {
  if (options.baseUrl !== undefined) globals.baseUrl = options.baseUrl.replace(/\/+$/, '');
}

interface Bound {
  launch(): void;
  stop(): void;
}

const bound = new Map<Element, Bound>();

/** An element, a CSS selector, or a jQuery-like object (its first element). */
type Target = Element | string | { 0?: Element; length?: number } | null | undefined;

function elementOf(target: Target): Element | undefined {
  if (!target) return undefined;
  if (typeof target === 'string') return document.querySelector(target) ?? undefined;
  if (typeof Element !== 'undefined' && target instanceof Element) return target;
  return (target as { 0?: Element })[0];
}

/**
 * Binds a connect flow to an element's clicks; returns `{launch()}` (call it inside a click
 * handler of your own when there is no element).
 */
export function authenticator(target: Target, options: AuthenticatorOptions, callback: Callback): Bound {
  if (!options?.client_id) throw new Error('Gatehouse.authenticator: options.client_id is required');
  if (typeof callback !== 'function') throw new Error('Gatehouse.authenticator: a callback is required');
  let flow: PopupFlow | undefined;
  const baseUrl = () => {
    if (!globals.baseUrl) throw new Error('Gatehouse: call Gatehouse.setGlobalOptions({baseUrl}) first');
    return globals.baseUrl;
  };
  const launch = () => {
    if (options.mode === 'redirect') {
      startRedirect(baseUrl(), options).catch((err: unknown) => callback({ error: 'server_error', error_description: String((err as Error)?.message ?? err) }));
      return;
    }
    flow?.cancel();
    flow = new PopupFlow(baseUrl(), options, (result: AuthResult) => {
      flow = undefined;
      callback(result);
    });
    flow.start();
  };
  const element = elementOf(target);
  const onClick = (event: Event) => {
    event.preventDefault();
    launch();
  };
  const handle: Bound = {
    launch,
    stop() {
      flow?.cancel();
      flow = undefined;
      element?.removeEventListener('click', onClick);
      if (element && bound.get(element) === handle) bound.delete(element);
    },
  };
  if (element) {
    bound.get(element)?.stop();
    element.addEventListener('click', onClick);
    bound.set(element, handle);
  }
  return handle;
}

/** Unbinds the authenticator from an element and ends its open flow. */
export function stop(target: Target): void {
  const element = elementOf(target);
  if (element) bound.get(element)?.stop();
}

export type { Bound as Authenticator };

/** Kloudless' spelling: `Gatehouse.auth.authenticator(…)`. */
export const auth = { authenticator, stop };
