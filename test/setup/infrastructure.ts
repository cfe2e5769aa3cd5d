/** What the global setup started, kept on globalThis for the global teardown (same process). */
export interface TestInfrastructure {
  stops: Array<{ name: string; stop: () => Promise<void> }>;
  kafkaStartMs?: number;
  postgresStartMs?: number;
  /** Removes the SIGINT/SIGTERM handlers that stop everything when the run is interrupted. */
  unhookSignals?: () => void;
}

export const INFRA_KEY = '__tollgateTestInfrastructure';
