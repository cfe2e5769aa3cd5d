import { Kafka, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import type { ServiceContext } from './run-service';

/**
 * The kafkajs client of one service component: client id `<config.kafka.clientId>-<clientSuffix>`, the
 * configured brokers, and kafkajs's warnings and errors written to the service log (as component
 * `clientSuffix`, kafkajs's own fields under `kafkajs`). Only call it when `context.config.kafka` is set.
 */
export function createKafkaClient(context: ServiceContext, clientSuffix: string): Kafka {
  const kafka = context.config.kafka;
  if (!kafka) throw new Error(`createKafkaClient(${clientSuffix}): Kafka is not configured (KAFKA_BROKERS is not set)`);
  const logger = context.logger.child({ component: clientSuffix });
  const creator: logCreator =
    () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      if (level === KafkaLogLevel.ERROR) logger.error({ kafkajs: extra }, message);
      else if (level === KafkaLogLevel.WARN) logger.warn({ kafkajs: extra }, message);
    };
  return new Kafka({
    clientId: `${kafka.clientId}-${clientSuffix}`,
    brokers: kafka.brokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: creator,
  });
}
