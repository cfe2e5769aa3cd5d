/**
 * Waits for `promise` (its failure ignored) at most `ms`: for stops that must never hang on an unreachable
 * broker or database (what they would still have done is given up; each caller says why that is acceptable).
 */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]).finally(() => clearTimeout(timer));
}
