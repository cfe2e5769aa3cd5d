import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pgFixture, type PgFixture } from '../test/fixtures';
import { readCommitted, START } from './gap-safe-reader';
import { withClient } from './pg';
import { storeTables } from './schema';

let fx: PgFixture;
beforeAll(async () => {
  fx = await pgFixture(['readorder']);
});
afterAll(async () => {
  await fx?.close();
});

describe('readCommitted against PostgreSQL', () => {
  it('orders by transaction id as a number, so a batch across 999 → 1000 skips nothing', async () => {
    // Rows written by (long finished) transactions 8, 9, 10 and 11: as text, '10' and '11' sort before '8'
    // and '9'. Read two at a time, a text order returned 10 and 11 first, moved the cursor past 9, and 8 and 9
    // were never read (a bench lost 230 users this way when the identity log's xids went from 999 to 1000).
    const t = storeTables('readorder');
    await fx.dataSource.query(
      `INSERT INTO ${t.events} (event_id, stream_id, stream_version, type, data, metadata, tx_id)
       SELECT 'evt_' || x, 'stream_' || x, 1, 'Test', '{}', '{}', x::text::xid8 FROM unnest(ARRAY[11, 10, 9, 8]) AS x`,
    );
    const read: string[] = [];
    let cursor = START;
    await withClient(fx.dataSource, async (client) => {
      for (let round = 0; round < 10; round++) {
        const batch = await readCommitted(client, t, cursor, 2);
        read.push(...batch.rows.map((r) => `${r.tx_id_text}:${r.stream_id}`));
        if (batch.rows.length > 0) cursor = batch.rows[batch.rows.length - 1]!.cursor;
        if (batch.drained) break;
      }
    });
    expect(read).toEqual(['8:stream_8', '9:stream_9', '10:stream_10', '11:stream_11']);
  });
});
