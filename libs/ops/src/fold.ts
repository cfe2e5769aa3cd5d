import { AccessModel, type EventWaiver } from '@tollgate/access-model';
import type { RecordedEvent } from '@tollgate/event-store';
import { Progress } from './progress';

/**
 * Folds every event recorded at or before `at` into a fresh access model: the state the authorizer had then.
 * The model is order-independent across streams, so each source (a writer store) is read in its own order.
 *
 * `waivers` (operators' `EventWaived` decisions, whenever recorded) are known from the start, so a waived
 * poison event is applied without effect instead of stopping the fold; an unwaived one still throws.
 */
export async function foldUntil(
  sources: Iterable<AsyncIterable<RecordedEvent> | Iterable<RecordedEvent>>,
  at: number,
  progress = false,
  waivers: readonly EventWaiver[] = [],
): Promise<{ model: AccessModel; events: number }> {
  const model = new AccessModel();
  for (const waiver of waivers) model.waive(waiver);
  let events = 0;
  const bar = new Progress('folding events', undefined, process.stderr, progress && Boolean(process.stderr.isTTY));
  for (const source of sources) {
    for await (const event of source) {
      if (event.recordedAt.getTime() > at) continue;
      model.apply(event);
      events += 1;
      bar.update(events);
    }
  }
  bar.done();
  return { model, events };
}
