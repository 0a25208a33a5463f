import { readFileSync } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { docsPage, type DocsOperation } from '../pages/index.ts';
import type { Services } from '../services.ts';
import { openApiDocument, type DocumentedRoute } from './openapi.ts';

export const DOCS_PATH = '/docs';
export const OPENAPI_PATH = '/docs/openapi.json';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const HTML_PAGE = { description: 'The page', content: { 'text/html': { schema: Type.String() } } };

type Operation = { summary: string; tags: string[]; responses: Record<string, unknown>; security?: Record<string, string[]>[] };

/** GET /docs (people) and GET /docs/openapi.json (programs), both from the routes as registered. */
export function docsRoutes(services: Services, routes: DocumentedRoute[]): FastifyPluginAsyncTypebox {
  // built once every route is registered, i.e. on the first request; the base URL may change before it (tests)
  let cached: { baseUrl: string; document: Record<string, unknown> } | undefined;
  const document = () => {
    if (cached?.baseUrl !== services.config.baseUrl) {
      cached = { baseUrl: services.config.baseUrl, document: openApiDocument(routes, { baseUrl: services.config.baseUrl, version: VERSION }) };
    }
    return cached.document;
  };

  return async (app) => {
    app.get(
      OPENAPI_PATH,
      {
        schema: {
          summary: 'This API as an OpenAPI 3.1 document',
          tags: ['docs'],
          response: { 200: { description: 'The OpenAPI document', content: { 'application/json': { schema: Type.Object({}, { additionalProperties: true }) } } } },
        },
      },
      async (_request, reply) => reply.header('cache-control', 'no-cache').send(document()),
    );

    app.get(
      DOCS_PATH,
      { config: { page: true }, schema: { summary: 'The API reference as a page', tags: ['docs'], response: { 200: HTML_PAGE } } },
      async (_request, reply) => {
        const operations: DocsOperation[] = [];
        for (const [path, item] of Object.entries(document().paths as Record<string, Record<string, Operation>>)) {
          for (const [method, op] of Object.entries(item)) {
            operations.push({
              method: method.toUpperCase(),
              path,
              summary: op.summary,
              tag: op.tags[0] ?? 'other',
              statuses: Object.keys(op.responses).sort(),
              auth: (op.security ?? []).flatMap((requirement) => Object.keys(requirement)),
            });
          }
        }
        operations.sort((a, b) => a.tag.localeCompare(b.tag) || a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
        return reply
          .header('cache-control', 'no-cache')
          .type('text/html; charset=utf-8')
          .send(docsPage({ title: 'Gatehouse', version: VERSION, operations }));
      },
    );
  };
}
