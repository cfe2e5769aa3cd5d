import { InMemoryEventStore } from '@tollgate/event-store';
import { InMemoryKeyReadModel } from './in-memory-key-read-model';
import { describeKeyReadModelContract } from './key-read-model.contract';

describeKeyReadModelContract('in memory', async () => {
  const store = new InMemoryEventStore();
  return { store, reads: new InMemoryKeyReadModel(store), close: async () => undefined };
});
