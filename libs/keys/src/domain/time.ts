/** Milliseconds since the epoch; injected everywhere so tests control time. */
export type Clock = () => number;

export const DAY_MS = 86_400_000;

/** ISO 8601 UTC with milliseconds, the contract's time format. */
export const iso = (ms: number): string => new Date(ms).toISOString();
