/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The sandbox pages' CSP: no script at all; forms may only post to the sandbox itself. */
export const SANDBOX_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

const STYLE = `body{font-family:system-ui,sans-serif;background:#eef6f0;margin:0;min-height:100vh;display:grid;place-items:center}
main{background:#fff;max-width:26rem;margin:2rem;padding:2rem;border-radius:12px;box-shadow:0 2px 12px rgb(0 0 0/8%)}
h1{font-size:1.25rem;margin-top:0}.brand{color:#1d7a46;font-weight:700;letter-spacing:.02em}
label{display:block;margin:.6rem 0 .2rem}input{font:inherit;width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #c8d0d8;border-radius:6px}
button{font:inherit;padding:.55rem 1.1rem;border-radius:8px;border:1px solid #c8d0d8;background:#fff;cursor:pointer;margin-top:1rem}
button.primary{background:#1d7a46;border-color:#1d7a46;color:#fff}.error{color:#b42318}.hint{color:#5b6470;font-size:.9rem}
table{border-collapse:collapse}td{padding:.1rem .6rem .1rem 0}code{background:#f1f3f5;padding:0 .25rem;border-radius:4px}`;

/** A whole page; `body` must already be escaped. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Sandbox Drive</title><style>${STYLE}</style></head>
<body><main><p class="brand">Sandbox Drive</p>${body}</main></body></html>`;
}
