import { ApiError } from '@tollgate/contracts';
import { OutageLog, unreachableDependency } from './dependency-outage';
import { toApiError } from './error.filter';
import { createLogger } from './logger';

const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });
const kafkaError = (name: string) => Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name });

describe('unreachableDependency', () => {
  it.each([
    ['a refused connection to PostgreSQL', socketError('ECONNREFUSED')],
    ['a reset connection', socketError('ECONNRESET')],
    ['a server shutting down (57P01)', pgError('57P01', 'terminating connection due to administrator command')],
    ['a server starting up (57P03)', pgError('57P03', 'the database system is starting up')],
    ['a connection exception (08006)', pgError('08006', 'connection failure')],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['a pool that cannot connect', new Error('timeout exceeded when trying to connect')],
    [
      "TypeORM's QueryFailedError around it",
      Object.assign(new Error('query failed'), { driverError: socketError('ECONNREFUSED') }),
    ],
  ])('says the database for %s', (_, error) => {
    expect(unreachableDependency(error)).toBe('database');
  });

  it.each([['KafkaJSConnectionError'], ['KafkaJSNumberOfRetriesExceeded'], ['KafkaJSRequestTimeoutError']])(
    'says kafka for %s',
    (name) => expect(unreachableDependency(kafkaError(name))).toBe('kafka'),
  );

  it.each([
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a constraint violation', pgError('23505', 'duplicate key value violates unique constraint')],
    [
      'a refused IdP fetch (the socket error is only its cause)',
      new TypeError('fetch failed', { cause: socketError('ECONNREFUSED') }),
    ],
    ['a string', 'ECONNREFUSED'],
    ['null', null],
  ])('says nothing for %s', (_, error) => {
    expect(unreachableDependency(error)).toBeUndefined();
  });
});

describe('toApiError for an unreachable dependency', () => {
  it('is 503 unavailable with Retry-After and no detail of the driver', () => {
    const error = toApiError(socketError('ECONNREFUSED'));
    expect(error).toBeInstanceOf(ApiError);
    expect({ status: error.status, code: error.code, message: error.message, headers: error.headers }).toEqual({
      status: 503,
      code: 'unavailable',
      message: 'the database is unreachable; retry shortly',
      headers: { 'Retry-After': '2' },
    });
  });

  it('leaves a bug a 500', () => {
    expect(toApiError(new TypeError('boom')).status).toBe(500);
  });
});

describe('OutageLog', () => {
  it('warns once per outage, counts the requests, and closes the outage after a quiet period', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
    let now = 0;
    const outages = new OutageLog(logger, 1000, () => now);
    for (let i = 0; i < 50; i++) {
      outages.record('database', socketError('ECONNREFUSED'));
      now += 10;
    }
    outages.record('kafka', kafkaError('KafkaJSConnectionError'));
    expect(lines.map(({ level, dependency }) => ({ level, dependency }))).toEqual([
      { level: 'warn', dependency: 'database' },
      { level: 'warn', dependency: 'kafka' },
    ]);
    expect(lines[0]).not.toHaveProperty('stack');
    now += 1000;
    outages.closeQuiet();
    expect(lines.slice(2).map(({ level, dependency, requests }) => ({ level, dependency, requests }))).toEqual([
      { level: 'info', dependency: 'database', requests: 50 },
      { level: 'info', dependency: 'kafka', requests: 1 },
    ]);
    outages.record('database', socketError('ECONNREFUSED'));
    expect(lines.at(-1)).toMatchObject({ level: 'warn', dependency: 'database' });
  });
});
