import { isSupportedAlgorithm, type SupportedAlgorithm } from './algorithms';
import { JwksCache } from './jwks-cache';
import { systemClock, type Clock, type FetchLike, type JsonWebKeySet } from './types';

/** A trusted issuer, as configured (CONTRACT section 5, `trustedIssuers`). */
export interface IssuerConfig {
  /** Exact `iss`. */
  issuer: string;
  jwksUri?: string;
  jwks?: JsonWebKeySet;
  /** `aud` must contain one of these. */
  audiences: readonly string[];
  /** Allow-list of JWS algorithms (asymmetric only). */
  algorithms: readonly string[];
  subjectClaim?: string;
  groupsClaim?: string;
  clockToleranceSeconds?: number;
  /** Trusted only on deployments of this environment. */
  environment?: string;
  /** The IdP connector whose subjects this issuer's subjects are (CONTRACT section 2, "Who the caller is"). */
  idpConnector?: string;
}

/** A trusted issuer with defaults applied and its key set. */
export interface Issuer {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: ReadonlySet<SupportedAlgorithm>;
  readonly subjectClaim: string;
  readonly groupsClaim: string;
  readonly clockToleranceSeconds: number;
  readonly environment: string | undefined;
  readonly idpConnector: string | undefined;
  readonly jwks: JwksCache;
}

export interface IssuerRegistryOptions {
  fetch?: FetchLike;
  now?: Clock;
  cooldownMs?: number;
  refreshIntervalMs?: number;
  timeoutMs?: number;
  onJwksError?: (issuer: string, error: Error) => void;
}

/** The issuer of service tokens; reserved, no trusted issuer may use it. */
export const SERVICE_TOKEN_ISSUER = 'tollgate';

export class IssuerConfigError extends Error {
  override readonly name = 'IssuerConfigError';
  constructor(
    /** Path of the offending field, e.g. `trustedIssuers[1].algorithms`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * The trusted issuers, by exact `iss`. Construction validates what the verifier relies on (and throws an
 * `IssuerConfigError` naming the field): asymmetric algorithms only (never `none` or `HS*`), at least one
 * audience, exactly one of `jwks`/`jwksUri` (an http(s) URL), unique issuers, `tollgate` reserved.
 */
export class IssuerRegistry {
  private readonly byIssuer = new Map<string, Issuer>();

  constructor(configs: readonly IssuerConfig[], options: IssuerRegistryOptions = {}, fieldPrefix = 'trustedIssuers') {
    const now = options.now ?? systemClock;
    configs.forEach((c, i) => {
      const at = `${fieldPrefix}[${i}]`;
      if (typeof c.issuer !== 'string' || c.issuer === '') throw new IssuerConfigError(`${at}.issuer`, 'required');
      if (c.issuer === SERVICE_TOKEN_ISSUER)
        throw new IssuerConfigError(`${at}.issuer`, `"${SERVICE_TOKEN_ISSUER}" is reserved`);
      if (this.byIssuer.has(c.issuer)) throw new IssuerConfigError(`${at}.issuer`, `duplicate issuer ${c.issuer}`);
      if (
        !Array.isArray(c.audiences) ||
        c.audiences.length === 0 ||
        c.audiences.some((a) => typeof a !== 'string' || a === '')
      ) {
        throw new IssuerConfigError(`${at}.audiences`, 'at least one non-empty audience is required');
      }
      if (!Array.isArray(c.algorithms) || c.algorithms.length === 0) {
        throw new IssuerConfigError(`${at}.algorithms`, 'at least one algorithm is required');
      }
      for (const alg of c.algorithms) {
        if (typeof alg !== 'string' || !isSupportedAlgorithm(alg)) {
          throw new IssuerConfigError(
            `${at}.algorithms`,
            `${String(alg)} is not allowed (asymmetric algorithms only; never none or HMAC)`,
          );
        }
      }
      if ((c.jwks === undefined) === (c.jwksUri === undefined)) {
        throw new IssuerConfigError(`${at}.jwks`, 'exactly one of jwks and jwksUri is required');
      }
      if (c.jwksUri !== undefined && !isHttpUrl(c.jwksUri))
        throw new IssuerConfigError(`${at}.jwksUri`, 'must be an http(s) URL');
      if (c.jwks !== undefined && !(typeof c.jwks === 'object' && c.jwks !== null && Array.isArray(c.jwks.keys))) {
        throw new IssuerConfigError(`${at}.jwks`, 'must be { keys: [...] }');
      }
      const tolerance = c.clockToleranceSeconds ?? 60;
      if (!Number.isInteger(tolerance) || tolerance < 0) {
        throw new IssuerConfigError(`${at}.clockToleranceSeconds`, 'must be a non-negative integer');
      }
      for (const f of ['subjectClaim', 'groupsClaim', 'idpConnector'] as const) {
        if (c[f] !== undefined && (typeof c[f] !== 'string' || c[f] === ''))
          throw new IssuerConfigError(`${at}.${f}`, 'must be a non-empty string');
      }
      const jwks = new JwksCache({
        issuer: c.issuer,
        ...(c.jwks !== undefined ? { jwks: c.jwks } : { jwksUri: c.jwksUri! }),
        fetch: options.fetch,
        now,
        cooldownMs: options.cooldownMs,
        refreshIntervalMs: options.refreshIntervalMs,
        timeoutMs: options.timeoutMs,
        onError: options.onJwksError && ((e) => options.onJwksError!(c.issuer, e)),
      });
      this.byIssuer.set(c.issuer, {
        issuer: c.issuer,
        audiences: [...c.audiences],
        algorithms: new Set(c.algorithms as SupportedAlgorithm[]),
        subjectClaim: c.subjectClaim ?? 'sub',
        groupsClaim: c.groupsClaim ?? 'groups',
        clockToleranceSeconds: tolerance,
        environment: c.environment,
        idpConnector: c.idpConnector,
        jwks,
      });
    });
  }

  /** The issuer whose `iss` is exactly `iss`. */
  get(iss: string): Issuer | undefined {
    return this.byIssuer.get(iss);
  }

  list(): Issuer[] {
    return [...this.byIssuer.values()];
  }

  /** Start background JWKS refresh for every remote key set. */
  start(): void {
    for (const i of this.byIssuer.values()) i.jwks.start();
  }

  stop(): void {
    for (const i of this.byIssuer.values()) i.jwks.stop();
  }
}

function isHttpUrl(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}
