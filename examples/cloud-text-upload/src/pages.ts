import type { TokenAccount } from '@gatehouse/node';
import type { DriveEntry } from './drive.ts';
import { html, Html, layout } from './html.ts';

const fileForm = (action: string, hidden: Html, disabled: boolean) => html`
<form action="${action}" method="post" id="upload-form">
${hidden}
<label>File name <input type="text" name="fileName" id="fileName" placeholder="file-name.txt" required maxlength="200"></label>
<label>Text <textarea name="file_body" id="file_body" rows="7">File text here.</textarea></label>
<button id="upload" type="submit"${disabled ? new Html(' disabled') : ''}>Create and upload file</button>
</form>`;

const listing = (files: DriveEntry[]) =>
  files.length === 0
    ? html`<p id="empty">The drive is empty.</p>`
    : html`<table id="listing"><thead><tr><th>File</th><th>Size</th><th>Modified</th></tr></thead><tbody>
${files.map((f) => html`<tr><td class="name">${f.name}</td><td>${f.size} B</td><td>${f.modified_at ?? ''}</td></tr>\n`)}</tbody></table>`;

const nav = html`<nav><a href="/">Popup (authenticator)</a> · <a href="/server">Server flow</a></nav>`;

/** The seed's page: Connect launches the authenticator popup; its callback fills the hidden fields. */
export function popupPage(options: { gatehouseUrl: string; clientId: string; scope: string }): string {
  const body = html`${nav}
<h1>Save text to your cloud drive</h1>
<p>Connect a drive, type a file name and some text, and the app writes the file into your drive through Gatehouse.</p>
<div id="gatehouse-config" data-base-url="${options.gatehouseUrl}" data-client-id="${options.clientId}" data-scope="${options.scope}"></div>
<p><button id="auth" type="button">Connect your drive</button> <span id="status" role="status">Not connected.</span></p>
${fileForm(
  '/post',
  html`<input type="hidden" name="access_token" id="access_token" value="">
<input type="hidden" name="account_id" id="account_id" value="">`,
  true,
)}`;
  return layout('Popup', body, [`${options.gatehouseUrl}/sdk/authenticator.js`, '/static/upload.js']);
}

/** After an upload: what was written and the drive's listing. */
export function savedPage(options: { name: string; account: { id: string; name?: string | null; email?: string | null; provider?: string }; files: DriveEntry[]; back: string }): string {
  const who = options.account.email ?? options.account.name ?? options.account.id;
  return layout(
    'Saved',
    html`${nav}
<h1>Saved</h1>
<p id="saved">Wrote <strong>${options.name}</strong> to the drive of <strong>${who}</strong>.</p>
<h2>Files in the drive</h2>
${listing(options.files)}
<p><a href="${options.back}">Write another file</a></p>`,
  );
}

/** The server-flow variant: a Connect link (redirect, no popup) or, once connected, the form and the listing. */
export function serverFlowPage(options: { account?: TokenAccount; csrf: string; files?: DriveEntry[]; notice?: string }): string {
  const connected = options.account;
  const body = connected
    ? html`${nav}
<h1>Save text to your cloud drive (server flow)</h1>
<p id="status">Connected: <strong>${connected.email ?? connected.name ?? connected.id}</strong> (${connected.provider}).</p>
${options.notice ? html`<p id="notice">${options.notice}</p>` : ''}
${fileForm('/server/upload', html`<input type="hidden" name="csrf" value="${options.csrf}">`, false)}
<h2>Files in the drive</h2>
${listing(options.files ?? [])}
<form action="/server/disconnect" method="post"><input type="hidden" name="csrf" value="${options.csrf}"><button id="disconnect" type="submit">Disconnect</button></form>`
    : html`${nav}
<h1>Save text to your cloud drive (server flow)</h1>
<p>This variant keeps everything on the server: the app sends you to Gatehouse, gets you back with a code, and exchanges it with its client secret.</p>
<p><a id="connect" class="button" href="/server/connect">Connect your drive</a></p>`;
  return layout('Server flow', body);
}

export function errorPage(title: string, message: string, back: string): string {
  return layout('Error', html`${nav}<h1 id="error-title">${title}</h1><p id="error">${message}</p><p><a href="${back}">Back</a></p>`);
}
