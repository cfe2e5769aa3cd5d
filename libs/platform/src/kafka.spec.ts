import { loadConfig } from '@tollgate/config';
import { createKafkaClient, KAFKA_LOG_WINDOW_MS, kafkaLogCreator, LogRateLimiter } from './kafka';
import { createLogger } from './logger';
import { createMetricsRegistry } from './metrics';
import type { ServiceContext } from './run-service';

function context(env: Record<string, string>): { context: ServiceContext; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { context: { config: loadConfig(env), logger, metrics: createMetricsRegistry(), databaseUrl: '' }, lines };
}

describe('createKafkaClient', () => {
  it('writes kafkajs warnings and errors to the service log as the named component, and nothing below', () => {
    const { context: ctx, lines } = context({ KAFKA_BROKERS: '127.0.0.1:1' });
    const log = createKafkaClient(ctx, 'keys').logger();
    log.info('connected', { broker: '127.0.0.1:1' });
    log.debug('request', { apiKey: 3 });
    log.warn('topic metadata is odd', { retryCount: 1 });
    log.error('broker refused the request', { broker: '127.0.0.1:1' });
    expect(lines.map(({ level, component, msg }) => ({ level, component, msg }))).toEqual([
      { level: 'warn', component: 'keys', msg: 'topic metadata is odd' },
      { level: 'error', component: 'keys', msg: 'broker refused the request' },
    ]);
    expect(lines[0]!.kafkajs).toMatchObject({ retryCount: 1 });
    expect(lines[1]!.kafkajs).toMatchObject({ broker: '127.0.0.1:1' });
  });

  it('writes reconnect noise at debug, whatever level kafkajs gives it', () => {
    const { context: ctx, lines } = context({ KAFKA_BROKERS: '127.0.0.1:1' });
    const log = createKafkaClient(ctx, 'authz').logger();
    log.error('Connection error: connect ECONNREFUSED 127.0.0.1:1', { broker: '127.0.0.1:1' });
    log.error('Crash: KafkaJSNumberOfRetriesExceeded', { groupId: 'g' });
    log.warn("The coordinator is loading and hence can't process requests for this group", {});
    expect(lines.map((l) => l.level)).toEqual(['debug', 'debug', 'debug']);
  });

  it('writes any other kafkajs message at most once a minute, then says how many were held back', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
    let now = 0;
    const log = kafkaLogCreator(logger, () => now)(0);
    const entry = (message: string) => ({
      namespace: 'Producer',
      level: 1,
      label: 'ERROR',
      log: { message, timestamp: '' },
    });
    for (let i = 0; i < 5; i++) log(entry('Failed to send messages'));
    log(entry('another failure'));
    now += KAFKA_LOG_WINDOW_MS;
    log(entry('Failed to send messages'));
    expect(lines.map(({ msg, suppressed }) => ({ msg, suppressed }))).toEqual([
      { msg: 'Failed to send messages', suppressed: undefined },
      { msg: 'another failure', suppressed: undefined },
      { msg: 'Failed to send messages', suppressed: 4 },
    ]);
  });

  it('rate limiter: admits a key once per window, independently of other keys', () => {
    let now = 1000;
    const limiter = new LogRateLimiter(100, () => now);
    expect(limiter.admit('a')).toEqual({ log: true, suppressed: 0 });
    expect(limiter.admit('a').log).toBe(false);
    expect(limiter.admit('b').log).toBe(true);
    now += 99;
    expect(limiter.admit('a').log).toBe(false);
    now += 1;
    expect(limiter.admit('a')).toEqual({ log: true, suppressed: 2 });
  });

  it('refuses without Kafka configuration', () => {
    const { context: ctx } = context({});
    expect(() => createKafkaClient(ctx, 'identity')).toThrow(/Kafka is not configured/);
  });
});
