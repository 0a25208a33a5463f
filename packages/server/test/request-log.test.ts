import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { openServices } from '../src/boot.ts';
import { loadConfig } from '../src/config.ts';
import { RequestLogLines } from '../src/http/index.ts';
import { createLogger } from '../src/logger.ts';
import { generateKeyringSpec } from '../src/vault/index.ts';
import { recordSecret } from './support/secrets.ts';
import { freshDatabase } from './support/stores.ts';

/** A Gatehouse (SQLite, no port) whose log lines are collected in memory. */
async function gatehouseLoggingAt(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const database = await freshDatabase('sqlite');
  const secretKeys = generateKeyringSpec('test1');
  recordSecret(secretKeys.split(':')[1]);
  const config = loadConfig(
    {
      GATEHOUSE_DATABASE_URL: database.target.kind === 'sqlite' ? `sqlite:${database.target.path}` : database.target.url,
      GATEHOUSE_SECRET_KEYS: secretKeys,
      GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-data-')),
    },
    process.cwd(),
  );
  const services = await openServices(config, createLogger(level, sink));
  const app = await buildApp(services);
  return {
    app,
    lines,
    async close() {
      await app.close();
      await services.store.close();
      await database.drop();
    },
  };
}

describe("Fastify's per-request log lines", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('at info, every request logs "incoming request" and "request completed" under one reqId', async () => {
    const gatehouse = await gatehouseLoggingAt('info');
    close = gatehouse.close;
    expect((await gatehouse.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const incoming = gatehouse.lines.find((l) => l.msg === 'incoming request');
    const completed = gatehouse.lines.find((l) => l.msg === 'request completed');
    expect(incoming).toMatchObject({ level: 30, req: { method: 'GET', url: '/healthz' } });
    expect(completed).toMatchObject({ level: 30, res: { statusCode: 200 } });
    expect(typeof completed?.responseTime).toBe('number');
    expect(completed?.reqId).toBe(incoming?.reqId);
  });

  it('above info, requests that succeed or are refused log nothing of their own', async () => {
    const gatehouse = await gatehouseLoggingAt('warn');
    close = gatehouse.close;
    expect((await gatehouse.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await gatehouse.app.inject({ method: 'GET', url: '/v1/accounts' })).statusCode).toBe(401);
    expect(gatehouse.lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toEqual([]);
  });

  it('a response that failed on its way out is logged at error whatever the level', () => {
    const logged: unknown[][] = [];
    const reply = { elapsedTime: 1.5, log: { error: (...args: unknown[]) => logged.push(args), info: () => logged.push(['info']) } };
    const lines = new RequestLogLines(false);
    lines.requestCompleted(null, {} as FastifyRequest, reply as unknown as FastifyReply);
    expect(logged).toEqual([]);
    const failure = new Error('socket hang up');
    lines.requestCompleted(failure, {} as FastifyRequest, reply as unknown as FastifyReply);
    expect(logged).toEqual([[{ res: reply, err: failure, responseTime: 1.5 }, 'request errored']]);
  });
});
