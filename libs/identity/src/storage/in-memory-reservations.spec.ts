import { InMemoryReservations } from './in-memory-reservations';
import { ORPHAN_AGE_SECONDS } from './reservations';
import { describeReservationsContract } from './reservations.contract';

describeReservationsContract('in memory', async () => {
  let clock = 1_700_000_000_000;
  return {
    reservations: new InMemoryReservations(() => clock),
    age: async () => {
      clock += (ORPHAN_AGE_SECONDS + 1) * 1000;
    },
    close: async () => undefined,
  };
});
