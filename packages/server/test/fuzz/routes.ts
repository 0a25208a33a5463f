import type { FastifyInstance } from 'fastify';
import { openApiDocument, openApiPath, registeredRoutes } from '../../src/http/index.ts';

/** One route to fuzz, as the running app registered it (its onRoute hook) and documents it. */
export interface Route {
  name: string;
  method: string;
  /** The path template; `:x` and `*` segments are filled in by the arbitrary. */
  path: string;
  /** The route answers people: a 4xx may be an HTML page, a 3xx a redirect. */
  page?: boolean;
  /** The field names the route reads, so the fuzz names them (and repeats them) often. */
  fields: string[];
  body?: 'form' | 'json';
  auth?: 'client' | 'bearer';
  /** The response keys its OpenAPI operation lists: statuses, ranges such as 2XX, default. */
  documented: Set<string>;
  /** Matches a concrete path this route answers. */
  pattern: RegExp;
  /** The provider proxy: an answer with `Via: … gatehouse` is the provider's own, passed through as it is. */
  proxied: boolean;
}

/** Parameters a route reads without declaring them in a schema. */
const UNDECLARED_FIELDS: Record<string, string[]> = {
  // the provider's own parameters, passed through
  'GET /v1/accounts/:id/proxy/*': ['q', 'page'],
  'POST /v1/accounts/:id/proxy/*': ['name', 'q'],
  'POST /v1/accounts/:id/raw': ['name'],
};

const keysOf = (schema: unknown) => Object.keys((schema as { properties?: object } | undefined)?.properties ?? {});

function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * Every route of the running app (Fastify's automatic HEAD twins aside: HEAD is one of the odd
 * methods every route gets), with what the fuzz needs to know taken from its schemas.
 */
export function routesOf(app: FastifyInstance, baseUrl: string): Route[] {
  const registered = registeredRoutes(app);
  const document = openApiDocument(registered, { baseUrl, version: 'fuzz' }) as { paths: Record<string, Record<string, { responses: object }>> };
  const gets = new Set(registered.filter((r) => r.method === 'GET').map((r) => r.url));
  return registered
    .filter((r) => !(r.method === 'HEAD' && gets.has(r.url)))
    .map((r) => {
      const name = `${r.method} ${r.url}`;
      const security = JSON.stringify(r.schema?.security ?? []);
      const operation = document.paths[openApiPath(r.url)]?.[r.method.toLowerCase()];
      return {
        name,
        method: r.method,
        path: r.url,
        page: r.config?.page === true,
        fields: [...new Set([...keysOf(r.schema?.querystring), ...keysOf(r.schema?.body), ...(UNDECLARED_FIELDS[name] ?? [])])],
        body: r.schema?.consumes?.includes('application/x-www-form-urlencoded') ? 'form' : r.schema?.body || r.schema?.consumes ? 'json' : undefined,
        auth: security.includes('clientSecretBasic') ? 'client' : /apiKey|accessToken|metricsToken/.test(security) ? 'bearer' : undefined,
        documented: new Set(Object.keys(operation?.responses ?? {})),
        pattern: patternOf(r.url),
        proxied: Boolean(operation?.responses && 'default' in operation.responses),
      } satisfies Route;
    })
    // a DELETE may release the account the other routes are fuzzed with: those go last
    .sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
}

/** Whether the route's OpenAPI operation covers this status (exactly, by its range, or by a default response). */
export function documents(route: Route, status: number): boolean {
  return route.documented.has(String(status)) || route.documented.has(`${Math.floor(status / 100)}XX`) || route.documented.has('default');
}

/** The route that answers `method path` (a static route before a parametric one), when it is certain. */
export function ownerOf(routes: Route[], method: string, path: string): Route | undefined {
  const wanted = method === 'HEAD' ? ['HEAD', 'GET'] : [method];
  const candidates = routes.filter((r) => wanted.includes(r.method) && r.pattern.test(path));
  const exact = candidates.filter((r) => !/[:*]/.test(r.path));
  const found = exact.length ? exact : candidates;
  // a HEAD route of its own wins over the GET twin
  const unique = found.filter((r) => r.method === method);
  if (unique.length === 1) return unique[0];
  return found.length === 1 ? found[0] : undefined;
}
