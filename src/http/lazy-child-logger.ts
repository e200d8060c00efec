/**
 * Fastify makes each request its own child logger (`request.log`, bound to the request id):
 * `pino.child` copies the bindings through the redaction and serializers, about 2 % of the CPU of
 * a `/graphql` query (bench/README.md), for a logger that a successful request never uses (access
 * logs are off: server.ts). This factory hands out a stand-in that makes the real child on its
 * first use, with the same bindings and options, so what is logged (and its `reqId`) is unchanged.
 *
 * Used as the `childLoggerFactory` of hot routes (plugin.ts); Fastify checks the stand-in has the
 * logger methods it calls.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type Method = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The logger's own method, called on it, with the arguments as given. */
function call(logger: FastifyBaseLogger, method: Method, args: unknown[]): void {
  (logger[method] as (...a: unknown[]) => void).apply(logger, args);
}

export class LazyChildLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  #real(): FastifyBaseLogger {
    return (this.#child ??= this.parent.child(this.bindings, this.options));
  }

  get level(): FastifyBaseLogger['level'] {
    return this.#child?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: FastifyBaseLogger['level']) {
    this.#real().level = level;
  }

  // Prototype methods: nothing allocated per request beyond the stand-in itself.
  fatal(...args: unknown[]): void {
    call(this.#real(), 'fatal', args);
  }
  error(...args: unknown[]): void {
    call(this.#real(), 'error', args);
  }
  warn(...args: unknown[]): void {
    call(this.#real(), 'warn', args);
  }
  info(...args: unknown[]): void {
    call(this.#real(), 'info', args);
  }
  debug(...args: unknown[]): void {
    call(this.#real(), 'debug', args);
  }
  trace(...args: unknown[]): void {
    call(this.#real(), 'trace', args);
  }
  silent(...args: unknown[]): void {
    call(this.#real(), 'silent', args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options);
  }
}

/** A route's `childLoggerFactory`: the stand-in instead of a child made up front. */
export function lazyChildLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options);
}
