/**
 * How fresh the access model is. The watermark is a time W such that every event committed at or before W
 * has been applied; the model may answer only while `now - W <= maxStalenessMs` and it is not halted.
 */
export interface Freshness {
  /** `now - watermark <= maxStalenessMs` and not halted; false before the first watermark. */
  isFresh(now?: number): boolean;
  /** `now - watermark`, or null before every partition delivered a heartbeat. */
  watermarkAgeMs(now?: number): number | null;
  /** The watermark (epoch ms) or null. */
  watermark(): number | null;
  /** True when the projection stopped on a poison event (fail closed until an operator acts). */
  halted(): boolean;
  readonly maxStalenessMs: number;
  /**
   * Resolves true once the watermark reaches `timestamp` (every event committed by then is applied), or
   * false after `timeoutMs`. For read-your-writes on a failure path, never on the hot path.
   */
  waitForWatermark(timestamp: number, timeoutMs: number): Promise<boolean>;
}

/** What `Freshness` reads from (the projection runner, or a test double). */
export interface WatermarkSource {
  watermark(): number | null;
  halted(): boolean;
}

export function createFreshness(
  source: WatermarkSource,
  options: { maxStalenessMs: number; now?: () => number; pollIntervalMs?: number },
): Freshness {
  const clock = options.now ?? Date.now;
  const pollIntervalMs = options.pollIntervalMs ?? 20;
  const { maxStalenessMs } = options;
  return {
    maxStalenessMs,
    watermark: () => source.watermark(),
    halted: () => source.halted(),
    watermarkAgeMs(now = clock()) {
      const watermark = source.watermark();
      return watermark === null ? null : now - watermark;
    },
    isFresh(now = clock()) {
      const watermark = source.watermark();
      return watermark !== null && now - watermark <= maxStalenessMs && !source.halted();
    },
    async waitForWatermark(timestamp, timeoutMs) {
      const deadline = clock() + timeoutMs;
      for (;;) {
        const watermark = source.watermark();
        if (watermark !== null && watermark >= timestamp) return true;
        if (source.halted() || clock() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      }
    },
  };
}
