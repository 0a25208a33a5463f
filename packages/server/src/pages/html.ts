/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A tagged template that escapes every interpolation unless it is already `Html`. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    const text = Array.isArray(value)
      ? value.map((v) => (v instanceof Html ? v.value : escapeHtml(String(v)))).join('')
      : value instanceof Html
        ? value.value
        : value === null || value === undefined
          ? ''
          : escapeHtml(String(value));
    out += text + strings[i + 1]!;
  });
  return new Html(out);
}

export const STYLESHEET_PATH = '/static/gatehouse.css';
export const POPUP_SCRIPT_PATH = '/sdk/popup.js';

/** A page shown in the authenticator's popup: who opened it (a trusted origin) and the flow's request id. */
export interface PopupContext {
  origin: string;
  rid: string;
  /** The relay page, which hands the result over. */
  relay?: boolean;
}

/** Every page: no inline script or style (the CSP forbids both); one stylesheet, and the popup script in a popup. */
export function layout(title: string, body: Html, width: 'narrow' | 'wide' = 'narrow', popup?: PopupContext): string {
  const bodyTag = popup
    ? html`<body data-opener-origin="${popup.origin}" data-rid="${popup.rid}"${popup.relay ? new Html(' data-relay') : ''}>`
    : new Html('<body>');
  const script = popup ? html`<script src="${POPUP_SCRIPT_PATH}" defer></script>
` : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Gatehouse</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
${script}</head>
${bodyTag}<main class="${width === 'wide' ? 'card wide' : 'card'}">${body}</main></body>
</html>`.value;
}
