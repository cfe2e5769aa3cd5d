import { type DynamicModule, Module } from '@nestjs/common';
import type { ServiceContext } from '@tollgate/platform';

export interface AccessModelModuleOptions {
  /** Save a snapshot this often when events were applied since the last one (default 60 000 ms). */
  snapshotIntervalMs?: number;
  /** …or as soon as this many events were applied since the last one (default 50 000). */
  snapshotEveryEvents?: number;
  /** Snapshots kept per replica (default 2). */
  snapshotsKept?: number;
  /** Load the latest snapshot at start (default true). */
  loadSnapshot?: boolean;
}

/**
 * Global module hosting the process's access model: builds it, restores the latest snapshot, follows the
 * log (Kafka topics when `config.kafka` is set, else the writers' event tables), and provides
 * `ACCESS_MODEL`, `FRESHNESS` and `CALLER_AUTHENTICATOR`; registers readiness and metrics.
 */
@Module({})
export class AccessModelModule {
  static forRoot(_context: ServiceContext, _options: AccessModelModuleOptions = {}): DynamicModule {
    throw new Error('not implemented');
  }
}
