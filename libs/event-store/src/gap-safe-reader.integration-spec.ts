import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pgFixture, type PgFixture } from '../test/fixtures';
import { type Cursor, readCommitted, START } from './gap-safe-reader';
import { borrow } from './pg';
import { storeTables } from './schema';

let fx: PgFixture;
beforeAll(async () => {
  fx = await pgFixture(['keys']);
});
afterAll(async () => {
  await fx?.close();
});

describe('readCommitted', () => {
  it('orders by transaction id as a number, so a read cut by its limit never skips across a digit boundary', async () => {
    // Rows of xids 99 and 100 (written explicitly: both long ended, far below any snapshot's xmin). As text,
    // '100' < '99': a text ordering returns xid 100's rows first, the cursor passes them, and xid 99's rows
    // are never read.
    const values = (txId: number, from: number) =>
      [0, 1, 2].map((i) => `('evt_${txId}_${i}', 'str_${txId}', ${from + i}, 'T', '{}', '{}', '${txId}')`).join(',');
    await fx.dataSource.query(
      `INSERT INTO keys.events (event_id, stream_id, stream_version, type, data, metadata, tx_id)
       VALUES ${values(100, 1)}, ${values(99, 1)}`,
    );
    const { client, queryRunner } = await borrow(fx.dataSource);
    try {
      const seen: string[] = [];
      let cursor: Cursor = START;
      for (let reads = 0; reads < 10; reads++) {
        const read = await readCommitted(client, storeTables('keys'), cursor, 2);
        seen.push(...read.rows.map((r) => r.event_id));
        if (read.rows.length > 0) cursor = read.rows.at(-1)!.cursor;
        if (read.drained) break;
      }
      expect(seen).toEqual(['evt_99_0', 'evt_99_1', 'evt_99_2', 'evt_100_0', 'evt_100_1', 'evt_100_2']);
    } finally {
      await queryRunner.release();
    }
  });
});
