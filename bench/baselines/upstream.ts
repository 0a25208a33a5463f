// The local upstream every proxy case talks to: a provider API that answers a small JSON document,
// and a token endpoint that counts refreshes (the refresh storm checks it saw exactly one).
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const body = JSON.stringify({ id: 'file_1', name: 'notes.txt', size: 1234, modified: '2026-11-23T00:00:00Z' });
let refreshes = 0;
let connections = 0;
let generation = 0;

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/token') {
    let form = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (form += chunk));
    req.on('end', () => {
      const params = new URLSearchParams(form);
      if (params.get('grant_type') !== 'refresh_token') {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"unsupported_grant_type"}');
        return;
      }
      refreshes += 1;
      generation += 1;
      const answer = { access_token: `up_at_${generation}_${Date.now()}`, token_type: 'Bearer', expires_in: 3600, refresh_token: params.get('refresh_token') };
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(answer));
    });
    return;
  }
  if (req.url === '/_stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ refreshes, connections }));
    return;
  }
  // the refresh storm's account starts with this (expired) token: using it is a failure
  if (!req.headers.authorization?.startsWith('Bearer ') || req.headers.authorization === 'Bearer up_at_expired') {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
});
server.keepAliveTimeout = 60_000;
server.on('connection', () => (connections += 1));
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
