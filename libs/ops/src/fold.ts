import { AccessModel } from '@tollgate/access-model';
import type { RecordedEvent } from '@tollgate/event-store';
import { Progress } from './progress';

/**
 * Folds every event recorded at or before `at` into a fresh access model: the state the authorizer had then.
 * The model is order-independent across streams, so each source (a writer store) is read in its own order.
 */
export async function foldUntil(
  sources: Iterable<AsyncIterable<RecordedEvent> | Iterable<RecordedEvent>>,
  at: number,
  progress = false,
): Promise<{ model: AccessModel; events: number }> {
  const model = new AccessModel();
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
