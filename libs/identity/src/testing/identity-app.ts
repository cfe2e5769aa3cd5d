import { AccessModelModule } from '@tollgate/access-model';
import type { OidcConnectorConfig, TollgateConfig } from '@tollgate/config';
import { AuthzModule } from '@tollgate/authz';
import { KeysModule } from '@tollgate/keys';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { startTestApp, type TestApp } from '../../../../test/support/test-app';
import type { IdentityModuleOptions } from '../identity-runtime';
import { IdentityModule } from '../identity.module';
import { eventually } from '../../../../test/support';
import { httpClient } from '../../../../test/support/http';

export const ADMIN_KEY = 'bootstrap-admin-credential-for-identity-tests-000001';

export interface IdentityTestApp extends TestApp {
  call: ReturnType<typeof httpClient>;
  /** SQL on the app's database. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  sql<T extends pg.QueryResultRow = any>(text: string, params?: unknown[]): Promise<T[]>;
  /** A management key for `userId` (issued by the keys service, as in production). */
  managementKey(userId: string): Promise<string>;
}

/**
 * The identity service as it runs in production, next to the access model (caller authentication) and the
 * keys service (management keys for the test users), on a fresh database.
 */
export async function startIdentityApp(
  options: {
    configure?: (config: TollgateConfig) => TollgateConfig;
    env?: Record<string, string>;
    authz?: boolean;
    kafka?: boolean;
    /** The identity module's options (e.g. a short sign-in key schedule). */
    identity?: IdentityModuleOptions;
    /** Reuse a database (default: a fresh one, dropped at close). */
    databaseUrl?: string;
  } = {},
): Promise<IdentityTestApp> {
  const app = await startTestApp(
    (ctx) => [
      AccessModelModule.forRoot(ctx),
      KeysModule.forRoot(ctx),
      IdentityModule.forRoot(ctx, options.identity),
      ...(options.authz ? [AuthzModule.forRoot(ctx)] : []),
    ],
    {
      env: {
        TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
        TOLLGATE_MAX_STALENESS_MS: '1000',
        GRPC_PORT: '0',
        ...options.env,
      },
      configure: options.configure,
      kafka: options.kafka,
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    },
  );
  const call = httpClient(app.url);
  const pool = new pg.Pool({ connectionString: app.context.databaseUrl, max: 2 });
  return {
    ...app,
    call,
    async sql(text, params = []) {
      return (await pool.query(text, params)).rows;
    },
    async managementKey(userId) {
      // The keys service learns of a new user from its event: on a busy machine, a moment after the 201.
      return eventually(async () => {
        const r = await call('POST', `/v1/users/${userId}/keys`, {
          auth: ADMIN_KEY,
          body: { name: `${userId} cli`, scope: 'management' },
        });
        if (r.status !== 201) throw new Error(`management key for ${userId}: ${r.status} ${r.text}`);
        return r.body.key as string;
      });
    },
    async close() {
      await pool.end();
      await app.close();
    },
  };
}

/** An `idpConnectors[]` entry as the configuration loader produces it (defaults applied). */
export function connector(
  id: string,
  options: {
    webhookSecrets?: string[];
    scimToken?: string;
    oidc?: { issuer: string; jwksUri: string; clientId: string; groupsClaim?: string; algorithms?: string[] };
  } = {},
): TollgateConfig['idpConnectors'][number] {
  return {
    id,
    webhookSecrets: options.webhookSecrets ?? [],
    ...(options.scimToken ? { scimBearerTokenHash: createHash('sha256').update(options.scimToken).digest('hex') } : {}),
    ...(options.oidc
      ? {
          oidc: {
            issuer: options.oidc.issuer,
            jwksUri: options.oidc.jwksUri,
            clientId: options.oidc.clientId,
            algorithms: (options.oidc.algorithms ?? ['RS256']) as OidcConnectorConfig['algorithms'],
            subjectClaim: 'sub',
            groupsClaim: options.oidc.groupsClaim ?? 'groups',
            clockToleranceSeconds: 60,
          },
        }
      : {}),
  };
}
