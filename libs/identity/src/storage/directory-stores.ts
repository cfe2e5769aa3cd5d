import type { EventStore } from '@tollgate/event-store';
import type { DirectoryListing } from './directory-listing';
import type { GroupIndex } from './group-index';
import type { HostOwnerStore } from './host-owners';
import type { ReservationStore } from './reservations';

/**
 * What the directory services read and write: the event log (the truth) and the tables that make its
 * uniqueness rules hold or answer its queries. PostgreSQL in `IdentityStore`; in memory for unit tests
 * (`testing/in-memory-directory.ts`), each passing the contract suite of its PostgreSQL adapter.
 */
export interface DirectoryStores {
  events: EventStore;
  reservations: ReservationStore;
  hostOwners: HostOwnerStore;
  groupIndex: GroupIndex;
  listing: DirectoryListing;
}
