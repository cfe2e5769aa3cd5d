import type { DataSource } from 'typeorm';

/**
 * Mutual exclusion across every replica of the keys service, for commands that span several streams
 * (an access-key rotation appends to the new key's stream and then to the old key's).
 */
export interface Locks {
  withLock<T>(name: string, work: () => Promise<T>): Promise<T>;
}

/** A PostgreSQL session advisory lock on a dedicated connection; released at the end, or when the connection dies. */
export class PostgresLocks implements Locks {
  constructor(private readonly dataSource: DataSource) {}

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query(`SELECT pg_advisory_lock(hashtext($1))`, [`tollgate-keys:${name}`]);
      try {
        return await work();
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [`tollgate-keys:${name}`]);
      }
    } finally {
      await runner.release();
    }
  }
}

/** One process only (unit tests). */
export class InMemoryLocks implements Locks {
  private readonly tails = new Map<string, Promise<unknown>>();

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(work);
    this.tails.set(name, run);
    try {
      return await run;
    } finally {
      if (this.tails.get(name) === run) this.tails.delete(name);
    }
  }
}
