// The deployed shape for the cluster tier (test/cluster) and the fault suite (test/chaos): three brokers,
// PostgreSQL, two keys and two identity writers and three authz replicas as processes (deploy/cluster),
// with an IdP connector for webhooks and SCIM, and small HTTP helpers to drive them. No jest here: the fault
// suite runs compiled, outside jest.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Webhook } from 'standardwebhooks';
import type { Cluster, ClusterOptions } from '../../deploy/cluster/cluster.mjs';

export const CONNECTOR = 'corp';
export const DEPLOYMENT_HOST = 'llama.models.example.com';

/** The repository root, from the source (test/cluster) or the compiled copy (dist/test/cluster). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'deploy', 'cluster', 'cluster.mjs'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('deploy/cluster/cluster.mjs not found above this file');
    dir = parent;
  }
  return dir;
}

export interface TollgateCluster {
  cluster: Cluster;
  admin: string;
  scimToken: string;
  webhookSecret: string;
  dataDir: string;
  url(name: string): string;
  /** the service URLs of one kind */
  urls(kind: 'keys' | 'identity' | 'authz'): string[];
  stop(): Promise<void>;
}

/**
 * Starts the cluster in a fresh temporary folder. PostgreSQL: embedded, unless `databaseUrl` (then a fresh
 * database on that server, dropped at the end). Everything started is stopped again when starting fails.
 */
export async function startTollgateCluster(
  options: {
    databaseUrl?: string;
    log?: (line: string) => void;
    env?: Record<string, string>;
    /** keep the folder (services' logs) after stop() */
    keep?: boolean;
  } & Pick<ClusterOptions, 'brokers' | 'keys' | 'identity' | 'authz' | 'autoRestart'> = {},
): Promise<TollgateCluster> {
  const { startCluster, clusterSecrets } = (await import(
    pathToFileURL(join(repoRoot(), 'deploy', 'cluster', 'cluster.mjs')).href
  )) as typeof import('../../deploy/cluster/cluster.mjs');
  const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-cluster-'));
  const secrets = clusterSecrets();
  const scimToken = randomBytes(24).toString('base64url');
  const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
  try {
    const cluster = await startCluster({
      dataDir,
      brokers: options.brokers ?? 3,
      keys: options.keys ?? 2,
      identity: options.identity ?? 2,
      authz: options.authz ?? 3,
      autoRestart: options.autoRestart ?? true,
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl, freshDatabase: true } : {}),
      config: {
        idpConnectors: [
          {
            id: CONNECTOR,
            webhookSecrets: [webhookSecret],
            scimBearerTokenHash: createHash('sha256').update(scimToken).digest('hex'),
          },
        ],
      },
      // Decision log lines at info would cost the replicas CPU the two cores do not have; warn keeps the
      // stale/fresh transitions and every failure (services' logs: <dataDir>/logs/<name>.log).
      env: { LOG_LEVEL: 'warn', ...secrets, ...options.env },
      log: options.log ?? (() => {}),
    });
    const byName = new Map(cluster.services.map((s) => [s.name, s.url]));
    return {
      cluster,
      admin: secrets.TOLLGATE_BOOTSTRAP_ADMIN_KEY,
      scimToken,
      webhookSecret,
      dataDir,
      url: (name) => {
        const url = byName.get(name);
        if (!url) throw new Error(`no service ${name}`);
        return url;
      },
      urls: (kind) => cluster.of(kind).map((s) => s.url),
      async stop() {
        await cluster.stop();
        if (!options.keep) await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    throw error;
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of many shapes
  body: any;
  /** the ids of `Tollgate-Event-Id`, in commit order */
  eventIds: string[];
}

/** One HTTP call; a network failure or timeout answers status 0 (the caller decides whether to retry). */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { auth?: string; body?: unknown; raw?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers.authorization = `Bearer ${options.auth}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    const ids = res.headers.get('tollgate-event-id');
    return { status: res.status, headers: res.headers, body: parsed, eventIds: ids ? ids.split(',') : [] };
  } catch (error) {
    return { status: 0, headers: new Headers(), body: String(error), eventIds: [] };
  }
}

/** What nginx or Traefik asks the authorizer for a request to the deployment host with this key. */
export function forwardAuth(authz: string, key: string, timeoutMs = 5000): Promise<Answer> {
  return call(authz, 'GET', '/v1/forward-auth', {
    headers: {
      'x-forwarded-host': DEPLOYMENT_HOST,
      'x-original-uri': '/v1/chat/completions',
      authorization: `Bearer ${key}`,
    },
    timeoutMs,
  });
}

/** A Standard Webhooks delivery from the IdP (docs/idp-setup.md). */
export function deliverWebhook(
  identity: string,
  secret: string,
  event: { type: string; data: Record<string, unknown> },
  id = `msg_${randomUUID()}`,
): Promise<Answer> {
  const at = new Date();
  const raw = JSON.stringify({ ...event, timestamp: at.toISOString() });
  return call(identity, 'POST', `/v1/idp/${CONNECTOR}/webhooks`, {
    raw,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, raw),
    },
  });
}

/** A SCIM 2.0 request as an IdP's provisioning client sends it. */
export function scim(identity: string, token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return call(identity, method, `/scim/v2${path}`, {
    auth: token,
    ...(body === undefined ? {} : { raw: JSON.stringify(body) }),
    headers: body === undefined ? {} : { 'content-type': 'application/scim+json' },
  });
}

export const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const SCIM_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** The relay state a writer reports in /health/ready ('active', 'standby', ...), or undefined if it does not answer. */
export async function relayState(writer: string): Promise<string | undefined> {
  const answer = await call(writer, 'GET', '/health/ready', { timeoutMs: 3000 });
  const details = answer.body?.details ?? {};
  return details.keys?.relay ?? details.identity?.relay;
}
