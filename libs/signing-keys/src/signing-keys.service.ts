import { generateServiceSigningKey, loadServiceSigningKey, ServiceTokenSigner } from '@tollgate/authn';
import { type EventMetadata, type EventStore, fold, handleCommand } from '@tollgate/event-store';
import type { Logger } from 'pino';
import {
  activeSigningKey,
  onDemandActivation,
  pendingSigningKey,
  planSigningKeys,
  publishedJwks,
  signingKeysDecider,
  type SigningKeyEvent,
  type SigningKeySchedule,
  type SigningKeysState,
} from './signing-keys.decider';
import type { SigningKeyVault } from './vault';

export interface SigningKeysDeps {
  /** The signer's stream: `signing-keys` (keys service) or `identity-signing-keys` (identity service). */
  stream: string;
  /** The writer's event store (its log carries the events to every verifier). */
  store: EventStore;
  vault: SigningKeyVault;
  schedule: SigningKeySchedule;
  /**
   * The longest service token the keys service's key policy has ever allowed, in seconds (machine users may
   * get more than 1 h once an admin raised it): a retired key's tokens must all have expired, so the
   * schedule's `tokenLifetimeMs` is at least this. Ever, not now: lowering the policy does not shorten tokens
   * issued. Absent (the sign-in signer): the schedule's own lifetime, which its tokens never exceed.
   */
  longestTokenLifetimeSeconds?: () => Promise<number>;
  /** epoch ms */
  clock: () => number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Names the signer in log lines (`keys`, `identity`). */
  name: string;
  /**
   * How old the stream read behind `signer()` may be (default 30 s). It must stay below the on-demand
   * rotation's shortest lead (60 s in the CLI), so that every replica learns a key another process published
   * before it activates, and all switch to it at its `activatesAt`: never two keys signing at once.
   */
  signerRefreshMs?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const metadata = (channel: 'system' | 'ops'): EventMetadata => ({ actor: 'system', channel });

/**
 * One signer's signing keys: runs the rotation schedule (`maintain`, every minute and at start), rotates on
 * demand, hands out the signer of the active key, and serves the JWKS of its stream. Every replica (and a
 * standby writer) can run `maintain` and `rotate`: the stream's expected version lets one publish and the
 * others re-decide on the stream they lost to, which yields nothing (or a key activating later, which the
 * decider refuses: one successor at a time).
 */
export class SigningKeysService {
  private state: SigningKeysState = signingKeysDecider.initialState;
  private loadedAt = Number.NEGATIVE_INFINITY;
  private readonly signers = new Map<string, ServiceTokenSigner>();

  constructor(private readonly deps: SigningKeysDeps) {}

  /** The schedule, its token lifetime raised to the longest token the key policy has ever allowed. */
  private async schedule(): Promise<SigningKeySchedule> {
    const { schedule, longestTokenLifetimeSeconds } = this.deps;
    if (!longestTokenLifetimeSeconds) return schedule;
    const longestMs = (await longestTokenLifetimeSeconds()) * 1000;
    return longestMs > schedule.tokenLifetimeMs ? { ...schedule, tokenLifetimeMs: longestMs } : schedule;
  }

  /** Reloads the stream (at most every `minAgeMs`). */
  async refresh(minAgeMs = 0): Promise<SigningKeysState> {
    const now = this.deps.clock();
    if (now - this.loadedAt < minAgeMs) return this.state;
    const slice = await this.deps.store.readStream(this.deps.stream);
    this.state = fold(
      signingKeysDecider,
      slice.events.map((e) => ({ type: e.type, data: e.data }) as SigningKeyEvent),
    );
    this.loadedAt = now;
    return this.state;
  }

  /** Publishes a new key when one is due and retires keys whose last token has expired. Returns the new events' types. */
  async maintain(now = this.deps.clock()): Promise<string[]> {
    const { store, vault, logger, name } = this.deps;
    const schedule = await this.schedule();
    const plan = planSigningKeys(await this.refresh(), now, schedule);
    if (plan.publishActivatingAt === null && plan.retire.length === 0) return [];
    let candidate: { kid: string; publicJwk: Record<string, unknown> } | undefined;
    if (plan.publishActivatingAt !== null) {
      const key = generateServiceSigningKey();
      await vault.put(key.kid, key.privateKeyPem);
      candidate = { kid: key.kid, publicJwk: { ...key.publicJwk } };
    }
    const result = await handleCommand(
      store,
      this.deps.stream,
      signingKeysDecider,
      { type: 'MaintainSigningKeys', now, schedule, ...(candidate ? { candidate } : {}) },
      metadata('system'),
      { retries: 5 },
    );
    this.state = result.state;
    this.loadedAt = this.deps.clock();
    // Another replica published first: this candidate's private half is never used.
    if (candidate && !this.state.keys.some((k) => k.kid === candidate.kid)) await vault.delete(candidate.kid);
    for (const event of result.events) {
      if (event.type === 'SigningKeyRetired') {
        const kid = (event.data as { kid: string }).kid;
        this.signers.delete(kid);
        await vault.delete(kid);
        logger.info({ kid }, `${name}: signing key retired`);
      } else if (event.type === 'SigningKeyPublished') {
        const data = event.data as { kid: string; activatesAt: string };
        logger.info({ kid: data.kid, activatesAt: data.activatesAt }, `${name}: signing key published`);
      }
    }
    return result.events.map((e) => e.type);
  }

  /**
   * On demand (`tollgate keys rotate-signing`): publishes a new key activating `leadMs` from now (at least
   * the schedule's first-key lead); the current key signs until then and stays published until its last
   * token has expired (the schedule retires it). A scheduled successor that would activate later is retired
   * unused. Returns the key now due to take over and the keys retired; `published: false` when a successor
   * already activates sooner.
   */
  async rotate(
    leadMs: number,
    now = this.deps.clock(),
  ): Promise<{ published: boolean; kid: string | null; activatesAt: string | null; retired: string[] }> {
    const { store, vault, logger, name } = this.deps;
    const schedule = await this.schedule();
    const key = generateServiceSigningKey();
    await vault.put(key.kid, key.privateKeyPem);
    const result = await handleCommand(
      store,
      this.deps.stream,
      signingKeysDecider,
      { type: 'RotateSigningKey', now, schedule, leadMs, candidate: { kid: key.kid, publicJwk: { ...key.publicJwk } } },
      metadata('ops'),
      { retries: 5 },
    );
    this.state = result.state;
    this.loadedAt = this.deps.clock();
    const retired: string[] = [];
    for (const event of result.events) {
      if (event.type !== 'SigningKeyRetired') continue;
      const kid = (event.data as { kid: string }).kid;
      retired.push(kid);
      this.signers.delete(kid);
      await vault.delete(kid);
    }
    const published = this.state.keys.some((k) => k.kid === key.kid);
    if (!published) {
      await vault.delete(key.kid);
      const next = pendingSigningKey(this.state, now);
      return { published, kid: next?.kid ?? null, activatesAt: next ? iso(next.activatesAt) : null, retired };
    }
    const activatesAt = iso(onDemandActivation(now, leadMs, schedule));
    logger.info({ kid: key.kid, activatesAt, retired }, `${name}: signing key rotated on demand`);
    return { published, kid: key.kid, activatesAt, retired };
  }

  /**
   * The signer of the key active at `now`, or undefined before the first key activates. The stream is
   * re-read at most every `signerRefreshMs` (30 s), so a key another process published at least that long
   * before it activates is followed from its `activatesAt` on.
   */
  async signer(now = this.deps.clock()): Promise<ServiceTokenSigner | undefined> {
    let active = activeSigningKey(await this.refresh(this.deps.signerRefreshMs ?? 30_000), now);
    if (!active) active = activeSigningKey(await this.refresh(1_000), now);
    if (!active) return undefined;
    const cached = this.signers.get(active.kid);
    if (cached) return cached;
    const pem = await this.deps.vault.get(active.kid);
    if (!pem) {
      this.deps.logger.error(
        { kid: active.kid },
        `${this.deps.name}: the private half of the active signing key is missing`,
      );
      return undefined;
    }
    const signer = new ServiceTokenSigner(loadServiceSigningKey(pem, active.kid), { now: this.deps.clock });
    this.signers.set(active.kid, signer);
    return signer;
  }

  /** The token lifetime the schedule retires keys after (seconds, at most the service-token maximum of 1 h). */
  get tokenLifetimeSeconds(): number {
    return Math.max(1, Math.min(3_600, Math.floor(this.deps.schedule.tokenLifetimeMs / 1_000)));
  }

  /** Milliseconds until the next key activates, or null when none is pending (as of the last stream read). */
  msUntilActivation(now = this.deps.clock()): number | null {
    const pending = pendingSigningKey(this.state, now);
    return pending ? Math.max(0, pending.activatesAt - now) : null;
  }

  /** Seconds until a key activates (for `Retry-After`), or null when none is pending. */
  secondsUntilActivation(now = this.deps.clock()): number | null {
    const pending = pendingSigningKey(this.state, now);
    return pending ? Math.max(1, Math.ceil((pending.activatesAt - now) / 1000)) : null;
  }

  /** The JWKS: every published, unretired key, including the next one before it signs. */
  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    return { keys: publishedJwks(await this.refresh(5_000)) };
  }
}
