// Types for local-kafka.mjs (plain JavaScript so that it runs without a build).
/** One broker JVM of a local cluster, for fault injection. */
export interface KafkaNode {
  /** KRaft node id (1..n) */
  id: number;
  /** this node's listener, e.g. '127.0.0.1:40123' */
  bootstrap: string;
  /** its INFO log */
  logFile: string;
  pid(): number | undefined;
  running(): boolean;
  /** settles when the current JVM exits */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** SIGKILL by default (resolves once it exited); SIGSTOP/SIGCONT freeze and thaw it */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** starts it again on the same ports and data; resolves once it answers a Metadata request */
  restart(): Promise<void>;
}

export interface KafkaHandle {
  /** e.g. ['127.0.0.1:40123'], for kafkajs `brokers` */
  brokers: string[];
  /** the same, comma-separated, for `bootstrap.servers` */
  bootstrap: string;
  /** one per broker */
  nodes: KafkaNode[];
  /** the (first) broker's INFO log; removed by stop() */
  logFile: string;
  /** settles when the broker's JVM exits */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** SIGTERM, wait for exit (SIGKILL after 15 s), remove the temp dir (not a fixed `home`); idempotent */
  stop(): Promise<void>;
  /** the broker's folder (data under `data/`, log `server.log`) */
  home: string;
  /** with `security`: the SASL_SSL listener (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER) */
  saslSslBrokers?: string[];
  /** with `security`: the SSL listener, client certificates required */
  sslBrokers?: string[];
}

/** Secured listeners beside PLAINTEXT (one node only): SASL_SSL and SSL (client auth required). */
export interface KafkaSecurity {
  /** PEM file: the broker's unencrypted PKCS#8 key, then its certificate chain */
  keystore: string;
  /** PEM file: the CA(s) the broker trusts for client certificates */
  truststore: string;
  /** users per mechanism, name → password; SCRAM ones are added when the storage is formatted */
  users?: {
    plain?: Record<string, string>;
    'scram-sha-256'?: Record<string, string>;
    'scram-sha-512'?: Record<string, string>;
  };
}

export interface StartKafkaOptions {
  /** parent folder of the broker's temp dir (default: the OS temp dir) */
  dir?: string;
  /** progress messages and the broker's WARN/ERROR console lines (default: ignored) */
  log?: (line: string) => void;
  /** secured listeners (one node only) */
  security?: KafkaSecurity;
  /** a fixed folder kept after stop (formatted once, its data reused); default: a temp dir removed by stop() */
  home?: string;
  /** fixed PLAINTEXT and controller ports (default: free ones) */
  port?: number;
  controllerPort?: number;
  /** the JVM's maximum heap, e.g. '256m' (default '384m') */
  heap?: string;
}

/** The apt-get command that installs Java and Maven on Debian. */
export const INSTALL_HINT: string;
/** One broker (replication factor 1). */
export function startKafka(options?: StartKafkaOptions): Promise<KafkaHandle>;
/** `nodes` brokers, each also a KRaft controller (default 3: replication factor 3, min.insync.replicas 2). */
export function startKafkaCluster(options?: StartKafkaOptions & { nodes?: number }): Promise<KafkaHandle>;
export function freeLoopbackPort(): Promise<number>;
/** `npm run kafka`'s default broker port. */
export const DEFAULT_PORT: number;
/** The options of `npm run kafka`; throws an Error whose message starts with the usage when one is wrong. */
export function parseKafkaArgs(
  argv: string[],
  env?: Record<string, string | undefined>,
):
  | { help: boolean; temp: true }
  | { help: boolean; temp: false; port: number; controllerPort: number; home: string; fresh: boolean };
/** Progress of a Maven fetch: feed it Maven's output lines; it logs one line per downloaded jar. */
export function mavenProgress(
  log: (line: string) => void,
  started?: number,
): { line(text: string): void; summary(): string; stop(): void };
