/**
 * Per-request loggers that cost nothing until they write. Fastify gives every request a child of the server's
 * logger (bound to its `reqId`); a pino child with media-ingest's redacting formatters is built eagerly, which is
 * measurable on small requests, while at the usual `warn`/`info` levels most requests never log at all. The lazy
 * logger answers disabled levels from the parent's level and builds the real child on its first enabled write
 * (or when asked for its level, bindings or a child), so what is written is exactly what the eager child writes.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from 'pino';

type LevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

interface PinoLike extends FastifyBaseLogger {
  isLevelEnabled?(level: string): boolean;
}

/** A child logger made on first use (see the module comment). */
class LazyChildLogger {
  private real: PinoLike | undefined;

  constructor(private readonly parent: PinoLike, private readonly childBindings: Bindings) {}

  private get logger(): PinoLike {
    return (this.real ??= this.parent.child(this.childBindings) as PinoLike);
  }

  private write(level: LevelName, args: unknown[]): void {
    if (!this.real && !this.parent.isLevelEnabled!(level)) return;
    (this.logger[level] as (...a: unknown[]) => void)(...args);
  }

  fatal(...args: unknown[]): void { this.write('fatal', args); }
  error(...args: unknown[]): void { this.write('error', args); }
  warn(...args: unknown[]): void { this.write('warn', args); }
  info(...args: unknown[]): void { this.write('info', args); }
  debug(...args: unknown[]): void { this.write('debug', args); }
  trace(...args: unknown[]): void { this.write('trace', args); }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }

  get level(): LevelWithSilentOrString {
    return (this.real ?? this.parent).level;
  }

  set level(level: LevelWithSilentOrString) {
    this.logger.level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.real ?? this.parent).isLevelEnabled!(level);
  }

  bindings(): Bindings {
    return (this.logger as unknown as { bindings(): Bindings }).bindings();
  }
}

/** Fastify's `childLoggerFactory`: a child of `parent` with `bindings`, made real on its first enabled write. */
export function lazyChildLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  const logger = parent as PinoLike;
  // Not pino, or a child with its own options (a level, serializers): it decides for itself, so make it now.
  if (typeof logger.isLevelEnabled !== 'function' || Object.keys(options).length > 0) return parent.child(bindings, options);
  return new LazyChildLogger(logger, bindings) as unknown as FastifyBaseLogger;
}
