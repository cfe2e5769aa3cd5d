import { loadConfig } from '@tollgate/config';
import { createKafkaClient } from './kafka';
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
    log.warn('retrying', { retryCount: 1 });
    log.error('broker down', { broker: '127.0.0.1:1' });
    expect(lines.map(({ level, component, msg }) => ({ level, component, msg }))).toEqual([
      { level: 'warn', component: 'keys', msg: 'retrying' },
      { level: 'error', component: 'keys', msg: 'broker down' },
    ]);
    expect(lines[0]!.kafkajs).toMatchObject({ retryCount: 1 });
    expect(lines[1]!.kafkajs).toMatchObject({ broker: '127.0.0.1:1' });
  });

  it('refuses without Kafka configuration', () => {
    const { context: ctx } = context({});
    expect(() => createKafkaClient(ctx, 'identity')).toThrow(/Kafka is not configured/);
  });
});
