import { html, layout } from './html.ts';

export interface DocsOperation {
  method: string;
  path: string;
  summary: string;
  tag: string;
  statuses: string[];
  auth: string[];
}

/** The API reference for people: every operation of the OpenAPI document, grouped; no script. */
export function docsPage(input: { title: string; version: string; operations: DocsOperation[] }): string {
  const tags = [...new Set(input.operations.map((o) => o.tag))];
  const row = (o: DocsOperation) =>
    html`<tr><td><code class="method">${o.method}</code></td><td><code>${o.path}</code></td><td>${o.summary}${
      o.auth.length ? html`<br><small>auth: ${o.auth.join(' or ')}</small>` : ''
    }</td><td><small>${o.statuses.join(' ')}</small></td></tr>`;
  return layout(
    'API reference',
    html`<h1>${input.title} API <small>${input.version}</small></h1>
<p>The machine-readable document is <a href="/docs/openapi.json">/docs/openapi.json</a> (OpenAPI 3.1).
Every error answer of the API has the body <code>{"error": "…", "error_description": "…"}</code>; pages answer errors with an HTML page and a reference id.</p>
${tags.map(
  (tag) => html`<h2>${tag}</h2>
<table class="ops"><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Statuses</th></tr></thead>
<tbody>${input.operations.filter((o) => o.tag === tag).map(row)}</tbody></table>`,
)}`,
    'wide',
  );
}
