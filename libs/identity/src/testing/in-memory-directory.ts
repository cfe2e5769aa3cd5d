import { ApiError } from '@tollgate/contracts';
import { InMemoryEventStore } from '@tollgate/event-store';
import type { CommandContext } from '../application/command-context';
import { type DirectoryServices, directoryServices } from '../application/directory-services';
import type { DirectoryStores } from '../storage/directory-stores';
import { InMemoryGroupIndex } from '../storage/group-index';
import { InMemoryDirectoryListing } from '../storage/in-memory-directory-listing';
import { InMemoryHostOwners } from '../storage/in-memory-host-owners';
import { InMemoryReservations } from '../storage/in-memory-reservations';

/** The directory's stores in memory, on one clock (epoch ms): what the services' unit tests run on. */
export function inMemoryDirectoryStores(now: () => number = Date.now): DirectoryStores {
  const groupIndex = new InMemoryGroupIndex();
  const events = new InMemoryEventStore({ now, inlineProjections: [groupIndex.projection] });
  return {
    events,
    reservations: new InMemoryReservations(now),
    hostOwners: new InMemoryHostOwners(),
    groupIndex,
    listing: new InMemoryDirectoryListing(events),
  };
}

/** The directory's services on in-memory stores, with a clock the test moves. */
export function inMemoryDirectory(): DirectoryServices & {
  stores: DirectoryStores;
  /** Moves the clock on by `ms`. */
  advance(ms: number): void;
} {
  let clock = Date.parse('2026-11-26T06:00:00.000Z');
  const stores = inMemoryDirectoryStores(() => clock);
  return {
    ...directoryServices(stores, () => new Date(clock)),
    stores,
    advance: (ms) => {
      clock += ms;
    },
  };
}

/** A Tollgate admin calling the REST API. */
export const ADMIN: CommandContext = { actor: { userId: 'usr_admin', admin: true }, channel: 'rest' };

/** The `ApiError` code `work` fails with (undefined when it succeeds). */
export const errorCode = async (work: Promise<unknown>): Promise<string | undefined> =>
  work.then(
    () => undefined,
    (error: unknown) => (error instanceof ApiError ? error.code : String(error)),
  );
