import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';

/**
 * The pages' CSP; `formActions` adds where a form may send the browser (e.g. an app's redirect
 * origin). `scripts`: the page may load Gatehouse's own script files (the authenticator's popup
 * pages); inline script stays forbidden everywhere.
 */
export function pageCsp(formActions: string[] = [], scripts = false): string {
  return [
    "default-src 'none'",
    ...(scripts ? ["script-src 'self'"] : []),
    "style-src 'self'",
    "img-src 'self' data:",
    ["form-action 'self'", ...formActions].join(' '),
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export const PAGE_CSP = pageCsp();

/** API answers: nothing to load, nothing to frame. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** What writeHead may be given after the status: headers by name (Fastify's way), or as name/value pairs. */
type HeadFields = OutgoingHttpHeaders | OutgoingHttpHeader[];

/** Whether neither the headers handed to writeHead (lower-case names, as Fastify hands them) nor setHeader gave `name`. */
function absent(response: ServerResponse, given: OutgoingHttpHeaders | undefined, name: string): boolean {
  return given?.[name] === undefined && !response.hasHeader(name);
}

function put(response: ServerResponse, given: OutgoingHttpHeaders | undefined, name: string, value: string): void {
  if (given) given[name] = value;
  else response.setHeader(name, value);
}

/**
 * Node's response with the headers every Gatehouse answer carries, added in writeHead, which every
 * response passes through (Fastify's answers, its error and not-found answers, a body written
 * without an explicit head). Always: nosniff, no referrer, no framing, and HSTS when the base URL
 * is https. Unless the route set its own: Cross-Origin-Resource-Policy same-origin; a CSP (pages a
 * strict one without inline script, anything else API_CSP; a page's own built with pageCsp, the
 * proxy's sandbox, are kept); and `Cache-Control: no-store` with `Pragma: no-cache` (answers carry
 * credentials and account data: only what a route marks cacheable, its static assets, may be
 * kept, and a provider's answer keeps the provider's Cache-Control).
 * In writeHead rather than in onSend hooks, whose run Fastify paid on every answer: 2 to 4% less
 * CPU per verify or introspection (duels of 8 rounds, both orders). Give it to Node as the
 * server's ServerResponse.
 */
export function secureResponses(options: { hsts: boolean }): typeof ServerResponse {
  const always: [string, string][] = [
    ['x-content-type-options', 'nosniff'],
    ['referrer-policy', 'no-referrer'],
    ['x-frame-options', 'DENY'],
  ];
  if (options.hsts) always.push(['strict-transport-security', 'max-age=31536000; includeSubDomains']);

  return class SecureResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
    override writeHead(statusCode: number, reasonOrHeaders?: string | HeadFields, headers?: HeadFields): this {
      const last = headers ?? reasonOrHeaders;
      const given = typeof last === 'object' && last !== null && !Array.isArray(last) ? last : undefined;
      for (const [name, value] of always) put(this, given, name, value);
      if (absent(this, given, 'cross-origin-resource-policy')) put(this, given, 'cross-origin-resource-policy', 'same-origin');
      if (absent(this, given, 'content-security-policy')) {
        const type = given?.['content-type'] ?? this.getHeader('content-type');
        put(this, given, 'content-security-policy', typeof type === 'string' && type.startsWith('text/html') ? PAGE_CSP : API_CSP);
      }
      if (absent(this, given, 'cache-control')) {
        put(this, given, 'cache-control', 'no-store');
        put(this, given, 'pragma', 'no-cache');
      }
      return typeof reasonOrHeaders === 'string' ? super.writeHead(statusCode, reasonOrHeaders, headers) : super.writeHead(statusCode, reasonOrHeaders);
    }
  };
}
