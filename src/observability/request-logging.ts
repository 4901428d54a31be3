import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type Bindings, type ChildLoggerOptions, type Level } from 'pino';

/**
 * Per-request logging that costs nothing when it would print nothing, and one line per request when it does.
 *
 * Fastify gives every request a child logger (carrying its request_id). A pino child is built eagerly, which
 * at LOG_LEVEL=warn is most of the per-request cost of a cached prediction; `lazyChildLoggerFactory` builds
 * it on the first line actually written. `OneLinePerRequest` replaces the default "incoming request" +
 * "request completed" pair with a single "request completed" line carrying method, url and status
 * ("incoming request" stays, at debug level).
 */

type LogArgs = unknown[];

const LEVEL_VALUES: Record<string, number> = pino.levels.values;

function enabled(logger: FastifyBaseLogger, level: Level): boolean {
  const threshold = LEVEL_VALUES[logger.level] ?? Number.POSITIVE_INFINITY;
  return (LEVEL_VALUES[level] ?? 0) >= threshold;
}

class LazyChildLogger implements FastifyBaseLogger {
  private real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions | undefined,
  ) {}

  get level(): string {
    return this.real?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.materialize().level = level;
  }

  // Prototype methods, not per-instance closures: one of these exists per request.
  fatal(...args: LogArgs): void {
    this.write('fatal', args);
  }

  error(...args: LogArgs): void {
    this.write('error', args);
  }

  warn(...args: LogArgs): void {
    this.write('warn', args);
  }

  info(...args: LogArgs): void {
    this.write('info', args);
  }

  debug(...args: LogArgs): void {
    this.write('debug', args);
  }

  trace(...args: LogArgs): void {
    this.write('trace', args);
  }

  silent(): void {
    // Nothing is ever written at "silent".
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.materialize().child(bindings, options);
  }

  private materialize(): FastifyBaseLogger {
    this.real ??= this.parent.child(this.bindings, this.options);
    return this.real;
  }

  private write(level: Level, args: LogArgs): void {
    if (!enabled(this.real ?? this.parent, level)) return;
    const logger = this.materialize();
    const method = logger[level] as (...a: LogArgs) => void;
    method.apply(logger, args);
  }
}

export function lazyChildLoggerFactory(this: unknown, logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options);
}

/** One JSON line per request: method, url, route template, status and duration, under the request's request_id. */
export class OneLinePerRequest extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'request_id' });
  }

  override incomingRequest(request: FastifyRequest): void {
    // At info and above this is folded into the completion line; debug also shows requests as they arrive.
    request.log.debug({ req: { method: request.method, url: request.url } }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      req: { method: request.method, url: request.url, route: request.routeOptions.url ?? 'unmatched', remoteAddress: request.ip },
      res: { statusCode: reply.statusCode },
      responseTime: reply.elapsedTime,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
