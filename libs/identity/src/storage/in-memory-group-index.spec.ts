import { InMemoryEventStore } from '@tollgate/event-store';
import { describeGroupIndexContract } from './group-index.contract';
import { InMemoryGroupIndex } from './group-index';

describeGroupIndexContract('in memory', async () => {
  const index = new InMemoryGroupIndex();
  const store = new InMemoryEventStore({ inlineProjections: [index.projection] });
  return { store, index, close: async () => undefined };
});
