// Types for local-kafka.mjs (plain JavaScript so that it runs without a build).
export interface KafkaHandle {
  /** e.g. ['127.0.0.1:40123'], for kafkajs `brokers` */
  brokers: string[];
  /** the same, comma-separated, for `bootstrap.servers` */
  bootstrap: string;
  /** the broker's INFO log; removed by stop() */
  logFile: string;
  /** settles when the broker's JVM exits */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** SIGTERM, wait for exit (SIGKILL after 15 s), remove the temp dir; idempotent */
  stop(): Promise<void>;
}

export interface StartKafkaOptions {
  /** parent folder of the broker's temp dir (default: the OS temp dir) */
  dir?: string;
  /** progress messages and the broker's WARN/ERROR console lines (default: ignored) */
  log?: (line: string) => void;
}

/** The apt-get command that installs Java and Maven on Debian. */
export const INSTALL_HINT: string;
export function startKafka(options?: StartKafkaOptions): Promise<KafkaHandle>;
export function freeLoopbackPort(): Promise<number>;
