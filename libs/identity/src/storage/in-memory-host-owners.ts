import type { HostOwnerStore } from './host-owners';

/** Host owners in memory, for unit tests: the same contract as PostgreSQL (host-owners.contract.ts). */
export class InMemoryHostOwners implements HostOwnerStore {
  private readonly owners = new Map<string, string>();
  /** Claims one at a time, as PostgreSQL's row locks make concurrent claims of one fresh host. */
  private tail: Promise<unknown> = Promise.resolve();

  claim(
    hosts: readonly string[],
    projectId: string,
    accept: (owners: ReadonlyMap<string, string>) => Promise<void>,
  ): Promise<void> {
    const distinct = [...new Set(hosts)];
    if (distinct.length === 0) return Promise.resolve();
    const work = async () => {
      const claimed = distinct.filter((host) => !this.owners.has(host));
      for (const host of claimed) this.owners.set(host, projectId);
      try {
        await accept(new Map(distinct.map((host) => [host, this.owners.get(host)!])));
      } catch (error) {
        for (const host of claimed) this.owners.delete(host);
        throw error;
      }
    };
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
