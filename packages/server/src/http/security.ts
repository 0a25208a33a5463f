import type { FastifyInstance } from 'fastify';

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

/**
 * Headers every response carries; pages also get a strict CSP without inline script, API answers
 * API_CSP. A route may set its own CSP on a response (a page's built with pageCsp, the proxy's
 * sandbox); it is then kept.
 */
export function installSecurityHeaders(app: FastifyInstance, options: { hsts: boolean }): void {
  // callback style: a hook on every response should not cost a promise
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY');
    if (!reply.hasHeader('cross-origin-resource-policy')) reply.header('cross-origin-resource-policy', 'same-origin');
    if (options.hsts) reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    if (!reply.hasHeader('content-security-policy')) {
      const type = reply.getHeader('content-type');
      reply.header('content-security-policy', typeof type === 'string' && type.startsWith('text/html') ? PAGE_CSP : API_CSP);
    }
    done(null, payload);
  });
}
