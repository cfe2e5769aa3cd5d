import { type EventReceipt, openEventReceipt } from '../src/committed-events';

/**
 * Runs awaited `work` with `receipt` and closes it when the work settles: what a request does, for tests
 * that append outside an HTTP request (the product opens receipts per request, `answerWithEventIds`).
 */
export function withEventReceipt<T>(receipt: EventReceipt, work: () => Promise<T>): Promise<T> {
  let result!: Promise<T>;
  const close = openEventReceipt(receipt, () => {
    result = work();
  });
  return result.finally(close);
}
