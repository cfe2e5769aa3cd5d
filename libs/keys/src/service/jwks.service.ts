import { publishedJwks, type SigningKeysService } from '@tollgate/signing-keys';

/** What the JWKS needs of the access model: every published, unretired signing key of any writer. */
export interface SigningKeysView {
  signingKeys(): Iterable<{ kid: string; publicJwk: object; activatesAt: number }>;
}

/**
 * `GET /.well-known/jwks.json`: the public keys of every service token Tollgate issues. Two writers sign
 * them: this service (`POST /v1/tokens`, stream `signing-keys`, read from its own store: a key is listed the
 * moment it is published) and the identity service (sign-in tokens, stream `identity-signing-keys`, learned
 * from the identity log through the access model, well before such a key signs: its lead is at least two
 * staleness bounds). A key of this service's own stream is listed by that stream alone, so a retirement
 * here drops it at once, even before the access model applied it.
 */
export class JwksService {
  constructor(
    private readonly own: SigningKeysService,
    private readonly model: SigningKeysView,
  ) {}

  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    const state = await this.own.refresh(5_000);
    const ownKids = new Set(state.keys.map((k) => k.kid));
    const others = [...this.model.signingKeys()]
      .filter((k) => !ownKids.has(k.kid))
      .sort((a, b) => a.activatesAt - b.activatesAt)
      .map((k) => ({ ...k.publicJwk }) as Record<string, unknown>);
    return { keys: [...publishedJwks(state), ...others] };
  }
}
