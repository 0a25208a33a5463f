import { Writable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestLogLines } from '../src/http/index.ts';
import { createLogger } from '../src/logger.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';

/** A Gatehouse (SQLite) whose log lines are collected in memory. */
async function gatehouseLoggingAt(level: string): Promise<RunningGatehouse & { lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return Object.assign(await startGatehouse({ kind: 'sqlite', logger: createLogger(level, sink) }), { lines });
}

describe("Fastify's per-request log lines", () => {
  let gatehouse: RunningGatehouse | undefined;
  afterEach(async () => {
    await gatehouse?.close();
    gatehouse = undefined;
  });

  it('at info, every request logs "incoming request" and "request completed" under one reqId', async () => {
    const logging = await gatehouseLoggingAt('info');
    gatehouse = logging;
    expect((await fetch(`${logging.url}/healthz`)).status).toBe(200);
    const incoming = logging.lines.find((l) => l.msg === 'incoming request');
    const completed = logging.lines.find((l) => l.msg === 'request completed');
    expect(incoming).toMatchObject({ level: 30, req: { method: 'GET', url: '/healthz' } });
    expect(completed).toMatchObject({ level: 30, res: { statusCode: 200 } });
    expect(typeof completed?.responseTime).toBe('number');
    expect(completed?.reqId).toBe(incoming?.reqId);
  });

  it('above info, requests that succeed or are refused log nothing of their own', async () => {
    const logging = await gatehouseLoggingAt('warn');
    gatehouse = logging;
    expect((await fetch(`${logging.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${logging.url}/v1/accounts`)).status).toBe(401);
    expect(logging.lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toEqual([]);
  });

  it('hands every finished request to its observer (the metrics), whatever the level and outcome', () => {
    const seen: unknown[] = [];
    const reply = { elapsedTime: 1.5, log: { error: () => {}, info: () => {} } } as unknown as FastifyReply;
    const request = {} as FastifyRequest;
    const lines = new RequestLogLines(false, (req, rep) => seen.push([req, rep]));
    lines.requestCompleted(null, request, reply);
    lines.requestCompleted(new Error('socket hang up'), request, reply);
    expect(seen).toEqual([[request, reply], [request, reply]]);
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
