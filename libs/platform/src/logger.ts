import type { LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';

/**
 * Field names whose values are secrets. pino censors them wherever they appear (two levels deep), so a
 * careless `log.info({ req })` still never writes a key, token, ID token, webhook or SCIM secret.
 */
const SECRET_FIELDS = [
  'authorization',
  'Authorization',
  'key',
  'accessKey',
  'token',
  'idToken',
  'id_token',
  'secret',
  'password',
  'x-model-access-key',
  'cookie',
  'webhookSecrets',
  'bootstrapAdminKey',
  'privateJwk',
];
const segment = (field: string): string => (/^\w+$/.test(field) ? `.${field}` : `["${field}"]`);
const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [
  segment(f).replace(/^\./, ''),
  `*${segment(f)}`,
  `*.*${segment(f)}`,
]);

/** How long a log line may wait in the buffer before it is written. */
const LOG_FLUSH_MS = 200;
/** Lines are handed to stdout in chunks of at least this many characters. */
const LOG_CHUNK = 65536;

/**
 * Log lines gathered in an array and handed to stdout (an asynchronous `pino.destination`) as one joined
 * chunk of at least `LOG_CHUNK` characters, every `LOG_FLUSH_MS`, and synchronously at exit (a crash's last
 * lines included); order is kept, since every line of the process passes here. One write per line cost about
 * 9% of the forward-auth door's CPU (the decision log writes one line a request), and sonic-boom's own
 * `minLength` buffering measures the UTF-8 length of its whole pending buffer on every line (a flattened
 * 2 KiB string, on average, per decision); pushing to an array costs neither.
 */
class ChunkedStdout implements pino.DestinationStream {
  private lines: string[] = [];
  private size = 0;
  private readonly sink = pino.destination({ sync: false });

  constructor() {
    setInterval(() => this.drain(), LOG_FLUSH_MS).unref();
    process.once('exit', () => {
      try {
        this.drain();
        this.sink.flushSync();
      } catch {
        // Nothing left to write, or stdout already closed: the process is leaving either way.
      }
    });
  }

  write(line: string): void {
    this.lines.push(line);
    this.size += line.length;
    if (this.size >= LOG_CHUNK) this.drain();
  }

  /** `logger.flush()`: hands over what is gathered now. */
  flush(callback?: (err?: Error) => void): void {
    this.drain();
    this.sink.flush(callback);
  }

  private drain(): void {
    if (this.lines.length === 0) return;
    const chunk = this.lines.join('');
    this.lines = [];
    this.size = 0;
    this.sink.write(chunk);
  }
}

let stdout: pino.DestinationStream | undefined;

/** Structured JSON logs on stdout, one line per record. */
export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination ?? (stdout ??= new ChunkedStdout()),
  );
}

/** Routes NestJS's own log calls (module init, route mapping, errors) into the same JSON stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
