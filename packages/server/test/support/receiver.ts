import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** How the receiver answers the next requests: a status, a redirect, or no answer at all. */
export type ReceiverMode = { status: number } | { redirect: string } | 'hang';

export interface WebhookReceiver {
  url: string;
  received: Received[];
  mode: ReceiverMode;
  /** Resolves once `n` requests have arrived in all. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** A plain node:http server on 127.0.0.1 recording every POST it gets with its raw body. */
export async function startReceiver(): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    received,
    mode: { status: 204 },
    waitFor(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${n} webhook requests arrived`)), timeoutMs);
        const check = () => {
          if (received.length >= n) {
            clearTimeout(timer);
            resolve(received.slice(0, n));
          } else waiters.push(check);
        };
        check();
      });
    },
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const waiter of waiters.splice(0)) waiter();
      const mode = receiver.mode;
      if (mode === 'hang') {
        hanging.add(res);
        return;
      }
      if ('redirect' in mode) res.writeHead(302, { location: mode.redirect }).end();
      else res.writeHead(mode.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}
