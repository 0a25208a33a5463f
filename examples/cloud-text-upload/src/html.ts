/** Escapes text for element content and double-quoted attributes. */
export const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** A tagged template that escapes every interpolation unless it is already Html. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    const items = Array.isArray(value) ? value : [value];
    out += items.map((v) => (v instanceof Html ? v.value : v === null || v === undefined || v === false ? '' : escapeHtml(String(v)))).join('');
    out += strings[i + 1]!;
  });
  return new Html(out);
}

/** No inline script or style anywhere: scripts from this origin and Gatehouse's only. */
export function contentSecurityPolicy(gatehouseUrl: string): string {
  const gatehouse = new URL(gatehouseUrl).origin;
  return [
    "default-src 'none'",
    `script-src 'self' ${gatehouse}`,
    "style-src 'self'",
    `connect-src 'self' ${gatehouse}`,
    "img-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function layout(title: string, body: Html, scripts: string[] = []): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Cloud Text Upload</title>
<link rel="stylesheet" href="/static/style.css">
${scripts.map((src) => html`<script src="${src}" defer></script>\n`)}</head>
<body><main>${body}</main></body>
</html>`.value;
}
