import { InMemoryEventStore, InMemoryLog } from './in-memory';
import { logSourceContract } from '../test/log-source-contract';
import { eventStoreContract } from '../test/event-store-contract';

// The fake used by unit tests passes the same contract as the PostgreSQL and Kafka sources.
logSourceContract('in-memory', async () => {
  let clock = 1_700_000_000_000;
  const now = () => clock;
  const log = new InMemoryLog({ partitions: 3, now });
  const store = new InMemoryEventStore({ log, source: '/tollgate/memory', now });
  return {
    append: (streamId, expectedVersion, events) =>
      store.append(streamId, expectedVersion, events, { metadata: { actor: 'usr_test', channel: 'test' } }),
    createSource: () => log.source(),
    now,
    tick: () => {
      clock += 10;
      log.heartbeat();
    },
    settle: () => log.settled(),
    close: async () => {},
  };
});

// The fake EventStore passes the same contract as PostgresEventStore.
eventStoreContract('in-memory', async (inlineProjections) => new InMemoryEventStore({ inlineProjections }));
