// An authz replica's access model as the bench's in-process Kafka parts run it: the runtime the authz service
// uses, over real Kafka, with snapshots only when a part asks for one (never on a timer or at stop).
import { Registry } from 'prom-client';
import { AccessModel, AccessModelRuntime, createFreshness, type Freshness } from '@tollgate/access-model';
import { loadConfig } from '@tollgate/config';
import { createLogger, type ServiceContext } from '@tollgate/platform';

export interface BenchReplica {
  name: string;
  model: AccessModel;
  runtime: AccessModelRuntime;
  freshness: Freshness;
}

const logger = createLogger('silent');

/** Not started: the caller times `runtime.start()`. `loadSnapshot`: restore the latest snapshot first. */
export function benchReplica(
  name: string,
  loadSnapshot: boolean,
  brokers: string[],
  databaseUrl: string,
): BenchReplica {
  const config = loadConfig({
    KAFKA_BROKERS: brokers.join(','),
    TOLLGATE_REPLICA_ID: name,
    LOG_LEVEL: 'silent',
    TOLLGATE_MAX_STALENESS_MS: '5000',
  });
  const context: ServiceContext = { config, logger, metrics: new Registry(), databaseUrl };
  const model = new AccessModel();
  const runtime = new AccessModelRuntime(model, context, {
    loadSnapshot,
    snapshotOnStop: false,
    snapshotIntervalMs: 3_600_000,
    snapshotEveryEvents: 1_000_000_000,
  });
  return { name, model, runtime, freshness: createFreshness(runtime, { maxStalenessMs: config.maxStalenessMs }) };
}
