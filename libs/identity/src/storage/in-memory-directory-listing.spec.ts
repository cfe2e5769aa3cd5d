import { InMemoryEventStore } from '@tollgate/event-store';
import { describeDirectoryListingContract } from './directory-listing.contract';
import { InMemoryDirectoryListing } from './in-memory-directory-listing';

describeDirectoryListingContract('in memory', async () => {
  const store = new InMemoryEventStore();
  return { store, listing: new InMemoryDirectoryListing(store), close: async () => undefined };
});
