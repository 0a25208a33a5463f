import { html, layout, type PopupContext } from './html.ts';

/** Which provider to connect for the app; each choice is a plain link (no script). */
export function chooserPage(input: { appName: string; handle: string; providers: { id: string; name: string }[]; popup?: PopupContext | undefined }): string {
  const link = (p: { id: string; name: string }) =>
    html`<li><a class="button" href="/oauth/authorize/connect?request=${encodeURIComponent(input.handle)}&amp;provider=${encodeURIComponent(p.id)}">${p.name}</a></li>`;
  return layout(
    'Choose an account',
    html`<h1>Connect an account to ${input.appName}</h1>
<p>Choose the service whose account ${input.appName} may use.</p>
<ul class="choices">${input.providers.map(link)}</ul>`,
    'narrow',
    input.popup,
  );
}

/** Allow or deny: the decision is a POST (303 back to the app), never a link. */
export function consentPage(input: { appName: string; providerName: string; accountLabel: string; scopes: string[]; handle: string; popup?: PopupContext | undefined }): string {
  return layout(
    `Allow ${input.appName}?`,
    html`<h1>${input.appName} wants to use your ${input.providerName} account</h1>
<p>Account: <strong>${input.accountLabel}</strong></p>
<p>${input.appName} will be able to:</p>
<ul>${input.scopes.map((s) => html`<li>${s}</li>`)}</ul>
<form method="post" action="/oauth/consent">
<input type="hidden" name="request" value="${input.handle}">
<button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="allow" class="primary">Allow</button>
</form>`,
    'narrow',
    input.popup,
  );
}

/** The authenticator's relay: its script posts the result (in this page's URL) to the opener. */
export function relayPage(popup: PopupContext): string {
  return layout(
    'Finishing',
    html`<h1>Finishing the connection…</h1>
<p id="relay-status">This window closes by itself.</p>`,
    'narrow',
    { ...popup, relay: true },
  );
}
