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

/**
 * stdout, written in chunks of at least 4 KiB or every `LOG_FLUSH_MS`, and synchronously at exit (a crash's
 * last lines included). One write per line cost about 9% of the forward-auth door's CPU: the decision log
 * writes one line a request.
 */
function bufferedStdout(): pino.DestinationStream {
  const destination = pino.destination({ sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), LOG_FLUSH_MS).unref();
  process.once('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // Nothing left to write, or stdout already closed: the process is leaving either way.
    }
  });
  return destination;
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
    destination ?? (stdout ??= bufferedStdout()),
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
