import { html, layout } from './html.ts';

/** Human sentences and a next step for the error codes a person may meet. */
const ADVICE: Record<string, { title: string; next: string }> = {
  access_denied: { title: 'Access was not granted', next: 'Go back to the app and try connecting again if you meant to allow it.' },
  invalid_state: {
    title: 'This sign-in link is no longer valid',
    next: 'Sign-in links work once and for 10 minutes. Go back to the app and start connecting again.',
  },
  upstream_error: { title: 'The provider did not complete the sign-in', next: 'Go back to the app and try again; if it keeps failing, tell the app’s support the reference below.' },
  upstream_unavailable: { title: 'The provider could not be reached', next: 'Try again in a few minutes.' },
  temporarily_unavailable: { title: 'Briefly unavailable', next: 'Try again in a few seconds.' },
  invalid_request: { title: 'This request is not valid', next: 'Go back to the app and start again from there.' },
  not_found: { title: 'Not found', next: 'Check the address, or go back to the app.' },
};

export function errorPage(input: { code: string; description: string; reference: string }): string {
  const advice = ADVICE[input.code] ?? { title: 'Something went wrong', next: 'Try again later; if it keeps failing, tell the app’s support the reference below.' };
  return layout(
    advice.title,
    html`<h1>${advice.title}</h1>
<p class="detail">${input.description}</p>
<p>${advice.next}</p>
<p class="ref">Reference: <code>${input.reference}</code> (error <code>${input.code}</code>)</p>`,
  );
}

export function connectedPage(input: { providerName: string; accountLabel: string; reconnected: boolean }): string {
  const title = input.reconnected ? 'Account reconnected' : 'Account connected';
  return layout(
    title,
    html`<h1>${title}</h1>
<p>Your ${input.providerName} account <strong>${input.accountLabel}</strong> is connected.</p>
<p>You can close this window and return to the app.</p>`,
  );
}

export const STYLESHEET = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f4f5f7; }
@media (prefers-color-scheme: dark) { body { background: #15171a; } .card { background: #1f2226; } }
.card { max-width: 28rem; margin: 2rem; padding: 2rem; border-radius: 12px; background: #fff; box-shadow: 0 2px 12px rgb(0 0 0 / 8%); }
h1 { font-size: 1.3rem; margin-top: 0; }
.detail { color: #6b7280; }
.ref { font-size: .85rem; color: #6b7280; }
button, .button { font: inherit; padding: .6rem 1.2rem; border-radius: 8px; border: 1px solid #d0d4da; background: #fff; cursor: pointer; }
button.primary { background: #2f6fed; color: #fff; border-color: #2f6fed; }
ul.choices { list-style: none; padding: 0; }
ul.choices li { margin: .4rem 0; }
.card.wide { max-width: 64rem; }
table.ops { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
table.ops th, table.ops td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid #d0d4da; }
code.method { font-weight: 600; }
table.ops { table-layout: fixed; }
table.ops th:nth-child(1) { width: 5rem; }
table.ops th:nth-child(2) { width: 17rem; }
table.ops th:nth-child(4) { width: 10rem; }
table.ops td { overflow-wrap: anywhere; }
`;
