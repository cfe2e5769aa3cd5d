import type { KeySealer } from '@tollgate/authn';
import { IDENTITY_SCHEMA } from '@tollgate/contracts';
import type { SealedColumn } from '@tollgate/database';
import { SealedSigningKeyVault } from '@tollgate/signing-keys';
import type { Sql } from './sql';

/** The sealed column of the sign-in signing keys (for start-up sealing and `tollgate keys rotate-kek`). */
export const IDENTITY_SIGNING_KEY_COLUMN: SealedColumn = {
  table: `"${IDENTITY_SCHEMA}".signing_keys`,
  idColumn: 'kid',
  column: 'private_key_sealed',
  context: (kid) => `identity.signing_keys:${kid}`,
};

/**
 * The private halves of the identity service's sign-in signing keys, one row per kid, sealed under the
 * key-encryption key (never in an event, never in a log, never in plaintext in a row). Which key signs and
 * when is the `identity-signing-keys` stream's (`SigningKeysService` of `@tollgate/signing-keys`, the same
 * design as the keys service's); a row is deleted when its key is retired.
 */
export class IdentitySigningKeyVault extends SealedSigningKeyVault {
  constructor(sql: Sql, sealer: KeySealer) {
    super(async (text, params) => (await sql.query(text, params)).rows, IDENTITY_SIGNING_KEY_COLUMN, sealer);
  }
}
