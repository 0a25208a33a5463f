import { finish, type AuthorizationResponse, type PendingFlow } from './exchange.ts';
import { codeChallenge, randomValue } from './pkce.ts';
import type { AuthenticatorOptions, AuthResult, Callback } from './types.ts';

export const RELAY_PATH = '/sdk/relay';
const WATCH_MS = 250;
/** A heartbeat older than this no longer proves the popup shows a Gatehouse page. */
const ALIVE_MS = 2500;
const MAILBOX_MS = 1000;
const DEFAULT_POPUP_TIMEOUT_MS = 120_000;

/** The query of /oauth/authorize for a flow (RFC 6749 §4.1.1, RFC 7636 §4.3, Gatehouse's own). */
export function authorizeUrl(baseUrl: string, options: AuthenticatorOptions, flow: { state: string; challenge: string; redirectUri: string }): string {
  const params = new URLSearchParams({
    ...options.extra_params,
    response_type: 'code',
    client_id: options.client_id,
    redirect_uri: flow.redirectUri,
    state: flow.state,
    code_challenge: flow.challenge,
    code_challenge_method: 'S256',
  });
  for (const key of ['scope', 'session_token', 'provider', 'login_hint'] as const) {
    const value = options[key];
    if (value) params.set(key, value);
  }
  return `${baseUrl}/oauth/authorize?${params}`;
}

/** Gatehouse's relay page for this page's origin and request id; no app registers it. */
export function relayUri(baseUrl: string, clientId: string, rid: string): string {
  return `${baseUrl}${RELAY_PATH}?${new URLSearchParams({ client_id: clientId, origin: window.location.origin, rid })}`;
}

/**
 * One popup flow. The popup is opened synchronously (inside the click) on about:blank, then sent
 * to /oauth/authorize once the PKCE challenge is computed. Results come as postMessage from
 * Gatehouse's relay page; only messages from Gatehouse's origin carrying this flow's request id
 * and state count.
 *
 * Closed-popup detection: `popup.closed` is true as soon as the popup shows a page whose
 * Cross-Origin-Opener-Policy cut it off from this page, though the window is still open. So the
 * Gatehouse pages in the popup (chooser, consent, relay) send heartbeats and a "leaving" note.
 * While the last word is a heartbeat, a closed popup really is closed: popup_closed at once.
 * Otherwise the popup is on a provider's page and may only look closed: the flow then asks
 * Gatehouse's mailbox (where the relay page leaves the result when it has no opener) every
 * second, and reports popup_closed after `popup_timeout` without a result.
 */
export class PopupFlow {
  private popup: Window | null = null;
  private done = false;
  private readonly rid = randomValue(24);
  private readonly pending: PendingFlow;
  private onGatehouse = false;
  private lastAlive = 0;
  private closedSince = 0;
  private lastMailbox = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly listener = (event: MessageEvent) => this.receive(event);

  constructor(
    private readonly baseUrl: string,
    private readonly options: AuthenticatorOptions,
    private readonly callback: Callback,
  ) {
    this.pending = {
      baseUrl,
      clientId: options.client_id,
      redirectUri: relayUri(baseUrl, options.client_id, this.rid),
      state: randomValue(),
      verifier: randomValue(48),
      response: options.response ?? 'token',
    };
  }

  /** Must run inside the user's click: browsers block popups opened later. */
  start(): void {
    const width = 500;
    const height = 680;
    const left = Math.max(0, window.screenX + (window.outerWidth - width) / 2);
    const top = Math.max(0, window.screenY + (window.outerHeight - height) / 2);
    this.popup = window.open('about:blank', `gatehouse_${this.rid}`, `popup,width=${width},height=${height},left=${left},top=${top}`);
    if (!this.popup) return this.end({ error: 'popup_blocked', error_description: 'the browser blocked the popup; allow popups for this site' });
    window.addEventListener('message', this.listener);
    this.timer = setInterval(() => this.watch(), WATCH_MS);
    codeChallenge(this.pending.verifier).then(
      (challenge) => {
        if (this.done || !this.popup) return;
        // still our own about:blank: closed here means closed
        if (this.popup.closed) return this.end({ error: 'popup_closed', error_description: 'the popup was closed' });
        this.popup.location.href = authorizeUrl(this.baseUrl, this.options, { state: this.pending.state, challenge, redirectUri: this.pending.redirectUri });
      },
      () => this.end({ error: 'server_error', error_description: 'this browser cannot compute a PKCE challenge (Web Crypto is missing)' }),
    );
  }

  /** Ends the flow without a callback (Gatehouse.stop, or a new launch). */
  cancel(): void {
    this.cleanup();
    this.done = true;
    try {
      this.popup?.close();
    } catch {
      // a popup cut off by COOP cannot be closed from here
    }
  }

  private receive(event: MessageEvent): void {
    if (this.done || event.origin !== new URL(this.baseUrl).origin) return;
    const data = event.data as ({ source?: unknown; type?: unknown; rid?: unknown } & AuthorizationResponse) | null;
    if (!data || typeof data !== 'object' || data.source !== 'gatehouse' || data.rid !== this.rid) return;
    if (data.type === 'gatehouse:alive') {
      this.onGatehouse = true;
      this.lastAlive = Date.now();
    } else if (data.type === 'gatehouse:leaving') {
      this.onGatehouse = false;
    } else if (data.type === 'gatehouse:result' && data.state === this.pending.state) {
      void this.complete(data);
    }
  }

  private watch(): void {
    if (this.done || !this.popup) return;
    let closed: boolean;
    try {
      closed = this.popup.closed;
    } catch {
      closed = true;
    }
    if (!closed) {
      this.closedSince = 0;
      return;
    }
    const now = Date.now();
    if (this.onGatehouse && now - this.lastAlive < ALIVE_MS) return this.end({ error: 'popup_closed', error_description: 'the popup was closed' });
    if (!this.closedSince) this.closedSince = now;
    if (now - this.closedSince >= (this.options.popup_timeout ?? DEFAULT_POPUP_TIMEOUT_MS)) {
      return this.end({ error: 'popup_closed', error_description: 'the popup was closed, or nothing came back from it in time' });
    }
    if (now - this.lastMailbox >= MAILBOX_MS) {
      this.lastMailbox = now;
      void this.askMailbox();
    }
  }

  /** POST /sdk/relay/result: the result the relay page left, when the popup had no opener to post to. */
  private async askMailbox(): Promise<void> {
    try {
      const answer = await fetch(`${this.baseUrl}${RELAY_PATH}/result`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: this.options.client_id, rid: this.rid }),
        credentials: 'omit',
      });
      const body = (await answer.json()) as { status?: string; result?: AuthorizationResponse };
      if (body.status === 'done' && body.result && body.result.state === this.pending.state) await this.complete(body.result);
    } catch {
      // not reachable now: asked again on the next tick
    }
  }

  private async complete(response: AuthorizationResponse): Promise<void> {
    if (this.done) return;
    this.cleanup();
    this.done = true;
    this.callback(await finish(this.pending, response));
  }

  private end(result: AuthResult): void {
    if (this.done) return;
    this.cleanup();
    this.done = true;
    this.callback(result);
  }

  private cleanup(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    window.removeEventListener('message', this.listener);
  }
}
