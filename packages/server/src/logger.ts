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

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * The per-request logger Fastify asks for (it binds reqId): the pino child is only built when
 * the request logs something at an enabled level. At warn, most requests log nothing, and
 * building a pino child for each of them was a measurable part of a small request's cost.
 * A class, so a request costs one small object, not a set of closures.
 */
class LazyChildLogger {
  #child: Logger | undefined;
  constructor(
    readonly parent: Logger,
    readonly bindingsOf: Record<string, unknown>,
    readonly options: Record<string, unknown>,
  ) {}

  get real(): Logger {
    return (this.#child ??= this.parent.child(this.bindingsOf, this.options));
  }
  get level(): string {
    return (this.#child ?? this.parent).level;
  }
  set level(level: string) {
    this.real.level = level;
  }
  #log(level: Level, args: unknown[]): void {
    if ((this.#child ?? this.parent).isLevelEnabled(level)) (this.real[level] as (...a: unknown[]) => void)(...args);
  }
  fatal(...args: unknown[]) {
    this.#log('fatal', args);
  }
  error(...args: unknown[]) {
    this.#log('error', args);
  }
  warn(...args: unknown[]) {
    this.#log('warn', args);
  }
  info(...args: unknown[]) {
    this.#log('info', args);
  }
  debug(...args: unknown[]) {
    this.#log('debug', args);
  }
  trace(...args: unknown[]) {
    this.#log('trace', args);
  }
  silent() {}
  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): Logger {
    return this.real.child(bindings, options);
  }
  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.parent).isLevelEnabled(level);
  }
  bindings() {
    return this.real.bindings();
  }
  flush(cb?: (err?: Error) => void) {
    this.parent.flush(cb);
  }
}

/** Fastify's childLoggerFactory: a LazyChildLogger. */
export function lazyChildLogger(parent: Logger, bindings: Record<string, unknown>, options: Record<string, unknown>): Logger {
  return new LazyChildLogger(parent, bindings, options) as unknown as Logger;
}
