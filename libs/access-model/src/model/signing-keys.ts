import type { DomainEvent } from '@tollgate/contracts';
import type { RecordedEvent } from '@tollgate/event-store';
import type { SigningKeyRecord } from '../types';
import { type Evolver, type HeldSigningKey, type PublicJwkRecord, signingKeyRecord, time } from './records';

/** Service-token signing keys: published public keys, and when each is retired (its tokens refused from then on). */
export class SigningKeysArea implements Evolver {
  private readonly byKid = new Map<string, HeldSigningKey>();
  private readonly retired = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  evolve(e: DomainEvent, event: RecordedEvent): void {
    if (e.type === 'SigningKeyPublished') {
      const { kid, publicJwk, activatesAt } = e.data;
      const held = this.byKid.get(kid);
      if (held && held.version >= event.streamVersion) return;
      this.byKid.set(kid, signingKeyRecord(kid, publicJwk, time(activatesAt), event.streamVersion));
    } else if (e.type === 'SigningKeyRetired') {
      const at = time(e.data.retiredAt);
      const held = this.retired.get(e.data.kid);
      if (held === undefined || at < held) this.retired.set(e.data.kid, at);
    }
  }

  /** The published public JWK with this kid, unless retired (from its `retiredAt` on). */
  signingKey(kid: string): PublicJwkRecord | undefined {
    const record = this.byKid.get(kid);
    if (!record) return undefined;
    const retiredAt = this.retired.get(kid);
    if (retiredAt !== undefined && this.now() >= retiredAt) return undefined;
    return record.publicJwk;
  }

  /** Published signing keys not retired at now, oldest activation first. */
  signingKeys(): SigningKeyRecord[] {
    const now = this.now();
    return [...this.byKid.values()]
      .map(({ kid, publicJwk, activatesAt }): SigningKeyRecord => ({ kid, publicJwk, activatesAt }))
      .filter((k) => {
        const retiredAt = this.retired.get(k.kid);
        return retiredAt === undefined || now < retiredAt;
      })
      .sort((a, b) => a.activatesAt - b.activatesAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  }

  get size(): number {
    return this.byKid.size;
  }

  isEmpty(): boolean {
    return this.byKid.size === 0 && this.retired.size === 0;
  }

  snapshotPart(): { signingKeys: HeldSigningKey[]; retiredSigningKeys: [string, number][] } {
    return { signingKeys: [...this.byKid.values()], retiredSigningKeys: [...this.retired] };
  }

  load(part: { signingKeys: readonly HeldSigningKey[]; retiredSigningKeys: readonly [string, number][] }): void {
    for (const key of part.signingKeys) this.byKid.set(key.kid, key);
    for (const [kid, at] of part.retiredSigningKeys) this.retired.set(kid, at);
  }
}
