import http from 'node:http';
import net from 'node:net';

// The fuzz's HTTP client: node:http, so odd methods, duplicated headers and raw bytes go out as they are.

export const REQUEST_TIMEOUT_MS = 5_000;
export const BODY_LIMIT = 256 * 1024;

export interface Sent {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
}
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  ms: number;
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

export function send(base: URL, req: Sent): Promise<Answer> {
  if (req.body && req.body.length > BODY_LIMIT) return sendRaw(base, req);
  return sendOnce(base, req).catch((err: Error & { reused?: boolean }) => {
    // a kept-alive socket the server closed after its previous answer: Node's documented retry
    if (err.reused) return sendOnce(base, req, false);
    throw err;
  });
}

function sendOnce(base: URL, req: Sent, pooled = true): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (fn: () => void) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        fn();
      }
    };
    const timer = setTimeout(() => {
      done(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms (a hang)`)));
      outgoing.destroy();
    }, REQUEST_TIMEOUT_MS);
    const outgoing = http.request(
      { host: base.hostname, port: base.port, method: req.method, path: req.path, headers: req.headers, agent: pooled ? agent : false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () =>
          done(() =>
            resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started }),
          ),
        );
        response.on('error', (err) => done(() => reject(err)));
      },
    );
    outgoing.on('error', (err: Error & { code?: string; reused?: boolean }) => {
      if (outgoing.reusedSocket && (err.code === 'ECONNRESET' || err.message === 'socket hang up')) err.reused = true;
      done(() => reject(err));
    });
    if (req.body && req.method !== 'HEAD') outgoing.end(req.body);
    else outgoing.end();
  });
}

/**
 * An over-long body on a socket of its own: the server may answer 413 and close before it is all
 * written, which node:http reports as a write error rather than the answer; read the answer raw.
 */
function sendRaw(base: URL, req: Sent): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(base.port), base.hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      finish(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms (a hang)`));
    }, REQUEST_TIMEOUT_MS);
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      const head = raw.indexOf('\r\n\r\n');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
      if (!match || head < 0) return reject(err ?? new Error(`no HTTP answer (${JSON.stringify(raw.slice(0, 200))})`));
      const headers: http.IncomingHttpHeaders = {};
      for (const line of raw.slice(0, head).split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(match[1]), headers, text: Buffer.from(raw.slice(head + 4), 'latin1').toString('utf8'), ms: Date.now() - started });
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const raw = Buffer.concat(chunks).toString('latin1');
      const head = raw.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(raw.slice(0, head));
      if (head >= 0 && length && Buffer.byteLength(raw.slice(head + 4), 'latin1') >= Number(length[1])) {
        finish();
        socket.destroy();
      }
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish());
    const lines = [`${req.method} ${req.path} HTTP/1.1`, `host: ${base.host}`, 'connection: close'];
    for (const [k, v] of Object.entries(req.headers)) for (const one of ([] as string[]).concat(v)) lines.push(`${k}: ${one}`);
    socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
    socket.write(req.body!, () => {});
  });
}


/** A request (and its answer) in a few lines, for failure messages. */
export function describeCase(req: Sent, answer?: Answer): string {
  const body = req.body ? (req.body.length > 300 ? `${req.body.subarray(0, 300).toString('latin1')}… (${req.body.length} bytes)` : req.body.toString('latin1')) : '';
  const head = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v).slice(0, 200)]));
  return `${req.method} ${req.path.slice(0, 500)}\n${JSON.stringify(head)}\n${body}${answer ? `\n→ ${answer.status} ${answer.text.slice(0, 500)}` : ''}`;
}
