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
/** Lines are handed to stdout in chunks of up to this many bytes. */
const LOG_CHUNK_BYTES = 65536;

/**
 * Log lines encoded into a 64 KiB buffer as they come and handed to stdout (an asynchronous
 * `pino.destination` taking buffers) as one chunk when it is full, every `LOG_FLUSH_MS`, and synchronously at
 * exit (a crash's last lines included); order is kept, since every line of the process passes here.
 *
 * Why this shape (docs/performance.md): one write per line cost about 9% of the forward-auth door's CPU (the
 * decision log writes one line a request), and sonic-boom's own `minLength` buffering measures the UTF-8
 * length of its whole pending buffer on every line. Lines kept as strings until their chunk left (an array
 * joined every 64 KiB, before) stayed alive, each a tree of the pieces it was concatenated from; encoded at
 * once, a line is garbage as soon as it is written here (about a fifth less CPU a decision line in a loop).
 */
export class ChunkedStdout implements pino.DestinationStream {
  private chunk = Buffer.allocUnsafe(LOG_CHUNK_BYTES);
  private used = 0;
  /** sonic-boom in buffer mode: its `write` takes a Buffer (its types only know strings). */
  private readonly sink: Omit<pino.DestinationStream, 'write'> & {
    write(chunk: Buffer): boolean;
    flush(cb?: (err?: Error) => void): void;
    flushSync(): void;
  };

  /** `dest`: stdout by default; a file path or descriptor lets a benchmark time the same writes elsewhere. */
  constructor(dest: string | number = 1) {
    this.sink = pino.destination({ dest, sync: false, contentMode: 'buffer' }) as unknown as typeof this.sink;
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
    const room = LOG_CHUNK_BYTES - this.used;
    // A UTF-16 code unit is at most 3 bytes of UTF-8: most lines fit without measuring them.
    if (line.length * 3 > room) {
      const bytes = Buffer.byteLength(line);
      if (bytes > room) {
        this.drain();
        if (bytes > LOG_CHUNK_BYTES) {
          this.sink.write(Buffer.from(line));
          return;
        }
      }
    }
    this.used += this.chunk.write(line, this.used, 'utf8');
  }

  /** `logger.flush()`: hands over what is gathered now. */
  flush(callback?: (err?: Error) => void): void {
    this.drain();
    this.sink.flush(callback);
  }

  private drain(): void {
    if (this.used === 0) return;
    // The sink keeps the chunk until its asynchronous write is done: the next lines go to a new buffer.
    const full = this.chunk.subarray(0, this.used);
    this.chunk = Buffer.allocUnsafe(LOG_CHUNK_BYTES);
    this.used = 0;
    this.sink.write(full);
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
