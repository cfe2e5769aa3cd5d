// Types for cluster.mjs (plain JavaScript so that it runs without a build).
import type { KafkaHandle } from '../kafka/local-kafka.mjs';
import type { SupervisedProcess } from './supervisor.mjs';

export type ServiceKind = 'keys' | 'identity' | 'authz';

export interface ClusterService {
  kind: ServiceKind;
  /** e.g. 'keys-1', also its TOLLGATE_REPLICA_ID */
  name: string;
  url: string;
  port: number;
  /** authz only; 0 for the writers */
  grpcPort: number;
  process: SupervisedProcess;
}

export interface ClusterDatabase {
  url: string;
  embedded: boolean;
  /** embedded only */
  port?: number;
  /** embedded only: a fast shutdown, then a start on the same data and port */
  stopServer?: () => Promise<void>;
  startServer?: () => Promise<void>;
  stop(): Promise<void>;
}

export interface Cluster {
  kafka: KafkaHandle;
  database: ClusterDatabase;
  services: ClusterService[];
  of(kind: ServiceKind): ClusterService[];
  /** every service, then Kafka and PostgreSQL (and a fresh database); idempotent */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  dataDir: string;
  brokers?: number;
  keys?: number;
  identity?: number;
  authz?: number;
  databaseUrl?: string;
  freshDatabase?: boolean;
  basePort?: number;
  config?: unknown;
  env?: Record<string, string | undefined>;
  autoRestart?: boolean;
  kafkaHeap?: string;
  log?: (line: string) => void;
  output?: (name: string, line: string) => void;
}

export const ROOT: string;
export function startCluster(options: ClusterOptions): Promise<Cluster>;
export function clusterSecrets(): { TOLLGATE_BOOTSTRAP_ADMIN_KEY: string; TOLLGATE_KEY_ENCRYPTION_KEY: string };
