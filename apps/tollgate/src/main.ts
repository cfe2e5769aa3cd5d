import 'reflect-metadata';
import { runService } from '@tollgate/platform';

// Embedded mode: every service in one process on one port, embedded PostgreSQL unless DATABASE_URL is set,
// no Kafka unless KAFKA_BROKERS is set.
await runService({
  name: 'tollgate',
  openApiTitle: 'Tollgate',
  modules: () => [],
});
