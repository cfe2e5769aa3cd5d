import { describeHostOwnersContract } from './host-owners.contract';
import { InMemoryHostOwners } from './in-memory-host-owners';

describeHostOwnersContract('in memory', async () => ({
  owners: new InMemoryHostOwners(),
  close: async () => undefined,
}));
