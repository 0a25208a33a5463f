import { Validator } from '@seriousme/openapi-schema-validator';
import { Type } from '@sinclair/typebox';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRoutes, openApiDocument, openApiPath, registeredRoutes, type DocumentedRoute } from '../src/http/index.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';

type Json = Record<string, any>;

// OpenAPI has these methods only (a route may also answer e.g. PROPFIND, which it cannot name)
const OPENAPI_METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE']);

/** The routes an operation must exist for: all but Fastify's automatic HEAD twin of each GET. */
function documentable(routes: DocumentedRoute[]): DocumentedRoute[] {
  const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
  return routes.filter((r) => OPENAPI_METHODS.has(r.method) && !(r.method === 'HEAD' && gets.has(r.url)) && !r.schema?.hide);
}

// The document describes routes, not stored data: one store is enough here.
describe('OpenAPI document at /docs/openapi.json', () => {
  let gatehouse: RunningGatehouse;
  let doc: Json;

  beforeAll(async () => {
    gatehouse = await startGatehouse({ kind: 'sqlite' });
    const response = await fetch(`${gatehouse.url}/docs/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    doc = (await response.json()) as Json;
  });
  afterAll(() => gatehouse?.close());

  it('is a valid OpenAPI 3.1 document (checked against the specification\'s JSON schema)', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.servers).toEqual([{ url: gatehouse.url }]);
  });

  it('has every route the app registered (as its onRoute hook saw them), with each declared status and the framework errors', () => {
    const routes = documentable(registeredRoutes(gatehouse.app));
    expect(routes.length).toBeGreaterThan(20);
    for (const route of routes) {
      const where = `${route.method} ${route.url}`;
      const operation = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()] as Json | undefined;
      expect(operation, where).toBeDefined();
      expect(operation!.summary, where).toEqual(expect.any(String));
      const statuses = Object.keys(operation!.responses);
      for (const declared of Object.keys((route.schema?.response ?? {}) as Json)) expect(statuses, where).toContain(declared);
      for (const status of ['400', '408', '431', '500']) expect(statuses, where).toContain(status);
      expect(statuses.some((s) => s === 'default' || (/^\d{3}$/.test(s) ? Number(s) < 400 : /^[123]XX$/.test(s))), `${where} documents its success`).toBe(true);
      if (route.schema?.querystring || route.schema?.params || route.schema?.body) expect(statuses, where).toContain('400');
      // every error answer is documented with its shape: the RFC 6749 body, or a page for people
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        const content = operation!.responses[status].content as Json;
        if (route.config?.page && !['408', '431'].includes(status)) expect(Object.keys(content), `${where} ${status}`).toEqual(['text/html']);
        else if (status in ((route.schema?.response ?? {}) as Json)) expect(content['application/json'].schema, `${where} ${status}`).toBeTruthy();
        else expect(content['application/json'].schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
      // path parameters are declared, query and body fields come from the TypeBox schemas
      const templated = [...openApiPath(route.url).matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const inPath = (operation!.parameters as Json[]).filter((p) => p.in === 'path').map((p) => p.name);
      expect(inPath.sort(), where).toEqual(templated.sort());
      const query = Object.keys((route.schema?.querystring as Json | undefined)?.properties ?? {});
      expect((operation!.parameters as Json[]).filter((p) => p.in === 'query').map((p) => p.name), where).toEqual(query);
      if (route.schema?.body) expect(Object.keys(operation!.requestBody.content).length, where).toBeGreaterThan(0);
    }
  });

  it('has no operation without a route behind it', () => {
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const method of Object.keys(item as Json)) {
        const route = registeredRoutes(gatehouse.app).find((r) => openApiPath(r.url) === path && r.method.toLowerCase() === method);
        expect(route, `${method} ${path}`).toBeDefined();
        expect(gatehouse.app.hasRoute({ method: method.toUpperCase() as 'GET', url: route!.url })).toBe(true);
      }
    }
  });

  it('documents the routes of the two faces and the API with their auth, bodies and errors', () => {
    const token = doc.paths['/oauth/token'].post;
    expect(Object.keys(token.requestBody.content)).toEqual(['application/x-www-form-urlencoded']);
    expect(Object.keys(token.requestBody.content['application/x-www-form-urlencoded'].schema.properties)).toContain('code_verifier');
    expect(token.security).toEqual([{ clientSecretBasic: [] }, {}]);
    expect(Object.keys(token.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '413', '415', '429', '500']));
    expect(token.responses['429'].headers['Retry-After']).toBeDefined();
    expect(token.responses['401'].headers['WWW-Authenticate']).toBeDefined();

    const release = doc.paths['/v1/accounts/{id}'].delete;
    expect(release.security).toEqual([{ apiKey: [] }, { accessToken: ['accounts:write'] }]);
    expect(release.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
    expect(Object.keys(release.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404']));

    const list = doc.paths['/v1/accounts'].get;
    expect(list.parameters.find((p: Json) => p.name === 'status').schema.anyOf).toHaveLength(3);
    expect(list.responses['200'].content['application/json'].schema.properties.next_cursor).toBeDefined();

    const authorize = doc.paths['/oauth/authorize'].get;
    expect(authorize.responses['303'].headers.Location).toBeDefined();
    expect(Object.keys(authorize.responses['200'].content)).toEqual(['text/html']);

    expect(doc.components.schemas.Error.required).toEqual(['error', 'error_description']);
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(['apiKey', 'accessToken', 'clientSecretBasic']));
  });

  it('/docs is a page listing every operation, with the strict CSP and no script or inline style', async () => {
    const response = await fetch(`${gatehouse.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('script-src');
    const page = await response.text();
    expect(page).not.toMatch(/<script|\sstyle=|<style|\son[a-z]+=/i);
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const method of Object.keys(item as Json)) {
        expect(page).toContain(`<code class="method">${method.toUpperCase()}</code></td><td><code>${path}</code>`);
      }
    }
    // the RFC 8414 metadata points people here
    const metadata = (await (await fetch(`${gatehouse.url}/.well-known/oauth-authorization-server`)).json()) as Json;
    expect(metadata.service_documentation).toBe(`${gatehouse.url}/docs`);
  });
});

describe('OpenAPI from routes added by any plugin', () => {
  it('covers a route registered later (wildcard, several methods, no schema) without edits', async () => {
    const app = Fastify();
    const routes = collectRoutes(app);
    await app.register(async (scope) => {
      scope.route({ method: ['GET', 'POST', 'PUT'], url: '/v1/things/:id/pass/*', handler: async () => ({}) });
      // a pass-through route: whatever the upstream answered
      scope.get('/v1/things/:id/raw', { schema: { response: { '2xx': { description: 'the upstream answer' }, default: { description: 'the upstream answer' } } } }, async () => ({}));
      scope.get('/v1/things', { schema: { querystring: Type.Object({ q: Type.String() }), response: { 200: Type.Object({ n: Type.Integer() }) } } }, async () => ({ n: 1 }));
    });
    await app.ready();
    const doc = openApiDocument(routes, { baseUrl: 'http://127.0.0.1:1', version: '0' }) as Json;
    expect(Object.keys(doc.paths['/v1/things/{id}/pass/{path}']).sort()).toEqual(['get', 'post', 'put']);
    expect(doc.paths['/v1/things/{id}/pass/{path}'].post.parameters.map((p: Json) => p.name).sort()).toEqual(['id', 'path']);
    expect(Object.keys(doc.paths['/v1/things/{id}/pass/{path}'].post.responses)).toEqual(expect.arrayContaining(['400', '413', '415', '429', '500']));
    expect(Object.keys(doc.paths['/v1/things/{id}/raw'].get.responses)).toEqual(expect.arrayContaining(['2XX', 'default', '400', '500']));
    expect(doc.paths['/v1/things'].get.parameters).toEqual([{ name: 'q', in: 'query', required: true, schema: { type: 'string' } }]);
    expect((await new Validator().validate(doc)).valid).toBe(true);
    await app.close();
  });
});
