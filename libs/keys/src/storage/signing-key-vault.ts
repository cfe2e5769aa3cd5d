import type { KeySealer } from '@tollgate/authn';
import { KEYS_SCHEMA } from '@tollgate/contracts';
import type { SealedColumn } from '@tollgate/database';
import { SealedSigningKeyVault } from '@tollgate/signing-keys';
import type { DataSource } from 'typeorm';

/** The sealed column of the keys service's signing keys (for start-up sealing and `tollgate keys rotate-kek`). */
export const KEYS_SIGNING_KEY_COLUMN: SealedColumn = {
  table: `"${KEYS_SCHEMA}".signing_keys`,
  idColumn: 'kid',
  column: 'private_key_sealed',
  context: (kid) => `keys.signing_keys:${kid}`,
};

/** The private halves of service-token signing keys: `keys.signing_keys`, sealed under the KEK. */
export class PostgresSigningKeyVault extends SealedSigningKeyVault {
  constructor(dataSource: DataSource, sealer: KeySealer) {
    super((text, params) => dataSource.query(text, params), KEYS_SIGNING_KEY_COLUMN, sealer);
  }
}
