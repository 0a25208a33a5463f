import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestSite {
  /** e.g. http://localhost:41234 (the app page's origin; Gatehouse is on 127.0.0.1). */
  origin: string;
  close(): Promise<void>;
}

async function serve(files: Record<string, { type: string; body: string; headers?: Record<string, string> }>, host: 'localhost' | '127.0.0.1'): Promise<TestSite> {
  const server: Server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store', ...file.headers }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://${host}:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const html = (gatehouse: string, script: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>Test app</title></head><body>
<button id="connect">Connect</button><pre id="out"></pre>
<script src="${gatehouse}/sdk/authenticator.js"></script><script src="${script}"></script></body></html>`;

/**
 * An app's page using the authenticator as the seed does: a button, the script from Gatehouse,
 * and a callback that records every result on `window.results`. Options come as JSON in `?options=`
 * (`launch_on_load: true` launches without a click).
 * `/return` is the redirect-mode landing page; `/isolated` is `/` with COOP same-origin.
 */
export function startAppSite(gatehouse: string): Promise<TestSite> {
  return serve(
    {
      '/': { type: 'text/html', body: html(gatehouse, '/app.js') },
      // the same page with a Cross-Origin-Opener-Policy of its own: its popups keep no opener link
      '/isolated': { type: 'text/html', body: html(gatehouse, '/app.js'), headers: { 'cross-origin-opener-policy': 'same-origin' } },
      '/return': { type: 'text/html', body: html(gatehouse, '/return.js') },
      '/app.js': {
        type: 'text/javascript',
        body: `window.results = [];
var options = JSON.parse(new URLSearchParams(location.search).get('options'));
window.auth = Gatehouse.authenticator(document.getElementById('connect'), options, function (result) {
  window.results.push(result);
  document.getElementById('out').textContent = JSON.stringify(result);
});
// launched while the page loads, without any click: a browser blocks that popup
if (options.launch_on_load) window.auth.launch();`,
      },
      '/return.js': {
        type: 'text/javascript',
        body: `window.results = [];
Gatehouse.handleRedirect().then(function (result) { window.results.push(result || null); });`,
      },
    },
    'localhost',
  );
}

/** Another origin, whose page posts the JSON in its URL fragment to its parent: a forger. */
export function startForeignSite(): Promise<TestSite> {
  return serve(
    {
      '/forge': { type: 'text/html', body: '<!doctype html><script src="/forge.js"></script>' },
      '/forge.js': { type: 'text/javascript', body: "parent.postMessage(JSON.parse(decodeURIComponent(location.hash.slice(1))), '*'); document.title = 'sent';" },
    },
    '127.0.0.1',
  );
}
