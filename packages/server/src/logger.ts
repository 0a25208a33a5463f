import pino, { type DestinationStream, type Logger } from 'pino';

/** Query parameters whose values may be logged; everything else (code, state, tokens…) is not. */
const LOGGABLE_QUERY = new Set([
  'app',
  'provider',
  'client_id',
  'response_type',
  'scope',
  'error',
  'limit',
  'status',
  'end_user',
  'category',
]);

/** The URL with every query value not known to be harmless replaced, so codes and tokens stay out of logs. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const safe = [...params].map(([key, value]) => `${encodeURIComponent(key)}=${LOGGABLE_QUERY.has(key) ? encodeURIComponent(value) : '[redacted]'}`);
  return `${url.slice(0, q)}?${safe.join('&')}`;
}

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.client_secret',
  '*.clientSecret',
  '*.apiKey',
  '*.api_key',
  '*.code',
  '*.code_verifier',
  '*.password',
  '*.token',
  '*.session_token',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: { method: string; url: string; ip?: string; id?: string }) => ({
          method: req.method,
          url: redactUrl(req.url),
          remoteAddress: req.ip,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
    destination,
  );
}

const LEVEL_METHODS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * Fastify's childLoggerFactory: the per-request child logger (it binds reqId) is only built when
 * the request logs something at an enabled level. At warn, most requests log nothing, and building
 * a pino child for each of them was a measurable part of a small request's cost.
 */
export function lazyChildLogger(parent: Logger, bindings: Record<string, unknown>, options: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const real = () => (child ??= parent.child(bindings, options));
  const lazy: Record<string, unknown> = {
    child: (more: Record<string, unknown>, moreOptions?: Record<string, unknown>) => real().child(more, moreOptions),
    isLevelEnabled: (level: string) => (child ?? parent).isLevelEnabled(level),
    bindings: () => real().bindings(),
    flush: (cb?: (err?: Error) => void) => parent.flush(cb),
    silent: () => {},
  };
  for (const method of LEVEL_METHODS) {
    lazy[method] = (...args: unknown[]) => {
      if (!(child ?? parent).isLevelEnabled(method)) return;
      (real()[method] as (...a: unknown[]) => void)(...args);
    };
  }
  Object.defineProperty(lazy, 'level', {
    get: () => (child ?? parent).level,
    set: (level: string) => {
      real().level = level;
    },
    enumerable: true,
  });
  return lazy as unknown as Logger;
}
