import { readFile } from 'node:fs/promises';
import type { BulkRevocationResult } from '@tollgate/keys';
import { EXIT, notFoundError, usageError } from '../cli-errors';
import { rotateKek } from '../key-encryption';
import { rotateSigning, type Signer, SIGNERS } from '../signing-keys';
import { scanText } from '../scan';
import { type Command, apiOptions, api, withStores, foldStores } from './command';

/** `tollgate keys …`: the key-encryption key, the signing keys, secret scanning and bulk revocation. */
export const KEYS_COMMANDS: Record<string, Command> = {
  'keys rotate-kek': {
    summary:
      'seal every signing key (keys, identity) under a new key-encryption key; the current one comes from TOLLGATE_KEY_ENCRYPTION_KEY',
    usage: 'tollgate keys rotate-kek --new-key-file PATH [--json]',
    options: { 'new-key-file': { type: 'string' } },
    positionals: 0,
    async run({ values }, ctx) {
      const file = values['new-key-file'] as string | undefined;
      if (!file) throw usageError('--new-key-file PATH is required (32 random bytes, e.g. openssl rand -base64 32)');
      const report = await rotateKek(await ctx.database(), ctx.config, file);
      if (ctx.out.json) ctx.out.data(report);
      else {
        ctx.out.line(`re-wrapped under key-encryption key ${report.to} (was ${report.from}):`);
        for (const [table, r] of Object.entries(report.tables))
          ctx.out.line(
            `  ${table}: ${r.rewrapped} re-wrapped, ${r.sealed} sealed from plaintext, ${r.unchanged} already`,
          );
        ctx.out.line(
          report.replacedFile
            ? `${report.replacedFile} now holds the new key.`
            : 'Now restart keys and identity with the new TOLLGATE_KEY_ENCRYPTION_KEY, then run this again: it re-wraps any key written in between.',
        );
      }
      return EXIT.ok;
    },
  },

  'keys rotate-signing': {
    summary:
      'rotate the token signing keys now (service tokens, sign-in tokens, or both): each new key is in the JWKS --lead-seconds before it signs (default 120), the old one stays until its last token expired',
    usage: 'tollgate keys rotate-signing [--signer service|sign-in|all] [--lead-seconds N] [--json]',
    options: { 'lead-seconds': { type: 'string' }, signer: { type: 'string' } },
    positionals: 0,
    async run({ values }, ctx) {
      const raw = values['lead-seconds'] as string | undefined;
      const lead = raw === undefined ? 120 : Number(raw);
      // At least what every verifier needs to learn the key first: the JWKS is cached 60 s (max-age), and a
      // running service re-reads its stream at most 30 s before it signs.
      if (!/^\d+$/.test(raw ?? '120') || !Number.isInteger(lead) || lead < 60 || lead > 86_400)
        throw usageError('--lead-seconds must be an integer from 60 to 86400');
      const chosen = (values.signer as string | undefined) ?? 'all';
      if (chosen !== 'all' && !(SIGNERS as readonly string[]).includes(chosen))
        throw usageError(`--signer must be one of ${[...SIGNERS, 'all'].join(', ')}`);
      const signers = chosen === 'all' ? SIGNERS : [chosen as Signer];
      const report = await rotateSigning(await ctx.database(), ctx.config, lead, signers);
      if (ctx.out.json) ctx.out.data(report);
      else
        for (const r of report.signers) {
          const name = r.signer === 'service' ? 'service-token' : 'sign-in';
          if (!r.published)
            ctx.out.line(
              `${name}: a successor is already published: ${r.kid} signs from ${r.activatesAt}; nothing to do (run again after it took over)`,
            );
          else {
            ctx.out.line(`${name}: published signing key ${r.kid}: in the JWKS now, signs from ${r.activatesAt}`);
            if (r.previousKid)
              ctx.out.line(
                `${name}: ${r.previousKid} signs until then and stays in the JWKS until its last token expired (retired after ${r.previousRetiresAfter})`,
              );
          }
          for (const kid of r.retired) ctx.out.line(`${name}: retired ${kid}`);
        }
      return EXIT.ok;
    },
  },

  'keys scan': {
    summary: 'find Tollgate keys in text (prefix + checksum), report id, owner and state; --revoke revokes them',
    usage: 'tollgate keys scan <file|-> [--revoke --url KEYS_URL --key ADMIN_CREDENTIAL] [--offline]',
    options: { revoke: { type: 'boolean' }, offline: { type: 'boolean' }, ...apiOptions },
    positionals: 1,
    async run({ values, positionals }, ctx) {
      const source = positionals[0]!;
      let text: string;
      try {
        text = source === '-' ? await ctx.readStdin() : await readFile(source, 'utf8');
      } catch (err) {
        throw notFoundError(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const model = values.offline
        ? undefined
        : await withStores(ctx, async (stores) => (await foldStores(stores, Date.now(), false)).model);
      const findings = scanText(text, model);
      const revoked: { keyId: string; eventId: string }[] = [];
      if (values.revoke) {
        if (values.offline) throw usageError('--revoke needs the key ids: drop --offline');
        const client = api(values, ctx);
        for (const finding of findings.filter((f) => f.keyId && f.state === 'valid')) {
          const result = finding.deploymentId
            ? await client.request<{ eventId: string }>(
                'DELETE',
                `/v1/deployments/${encodeURIComponent(finding.deploymentId)}/access-keys/${model!.keyById(finding.keyId!)!.slot}`,
              )
            : await client.request<{ eventId: string }>('DELETE', `/v1/keys/${encodeURIComponent(finding.keyId!)}`);
          revoked.push({ keyId: finding.keyId!, eventId: result.eventId });
          finding.state = 'revoked';
        }
      }
      const rows = findings.map(({ secretHash: _hash, ...rest }) => rest);
      if (ctx.out.json) ctx.out.data({ findings: rows, revoked });
      else if (rows.length === 0) ctx.out.line('no Tollgate keys found');
      else {
        ctx.out.table(rows as unknown as Record<string, unknown>[], [
          'line',
          'column',
          'kind',
          'redacted',
          'keyId',
          'owner',
          'state',
        ]);
        for (const r of revoked) ctx.out.line(`revoked ${r.keyId} (event ${r.eventId})`);
      }
      return findings.length ? EXIT.found : EXIT.ok;
    },
  },

  'keys rotate': {
    summary:
      'rotate a user API key: a successor with the same owner, name and scope (its secret printed once); the old key keeps working --overlap-seconds (default 3600, 0 stops it at once)',
    usage: 'tollgate keys rotate KEY_ID [--overlap-seconds N] [--url KEYS_URL] [--key CREDENTIAL] [--json]',
    options: { 'overlap-seconds': { type: 'string' }, ...apiOptions },
    positionals: 1,
    async run({ values, positionals }, ctx) {
      const keyId = positionals[0]!;
      const raw = values['overlap-seconds'] as string | undefined;
      const overlapSeconds = raw === undefined ? undefined : Number(raw);
      if (raw !== undefined && (!/^\d+$/.test(raw) || overlapSeconds! > 604_800))
        throw usageError('--overlap-seconds must be an integer from 0 to 604800');
      // Not retried and sent without an Idempotency-Key on purpose: the successor's secret is in the first
      // answer only (a replay answers key: null), and a second rotation is refused with 409 naming the successor.
      const rotated = await api(values, ctx).request<RotatedKey>(
        'POST',
        `/v1/keys/${encodeURIComponent(keyId)}/rotate`,
        overlapSeconds === undefined ? {} : { overlapSeconds },
      );
      if (ctx.out.json) ctx.out.data(rotated);
      else {
        ctx.out.line(`rotated ${rotated.rotatedFrom} -> ${rotated.keyId} (${rotated.name}, ${rotated.scope})`);
        ctx.out.line(`secret (shown once, store it now): ${rotated.key}`);
        ctx.out.line(
          `${rotated.rotatedFrom} stops at ${rotated.previousKeyRevokesAt}; ${rotated.keyId} expires at ${rotated.expiresAt}`,
        );
        ctx.out.line(`events: ${rotated.eventIds.join(', ')} (confirm with tollgate revocations status)`);
      }
      return EXIT.ok;
    },
  },

  'keys revoke': {
    summary:
      "bulk revoke, server-side in one transaction: every key of a user or of a group's members; a deployment's or a project's access keys and its invokers' inference keys",
    usage:
      'tollgate keys revoke (--user ID | --group NAME | --deployment ID | --project ID) [--dry-run] [--url KEYS_URL] [--key ADMIN_CREDENTIAL]',
    options: {
      user: { type: 'string' },
      group: { type: 'string' },
      deployment: { type: 'string' },
      project: { type: 'string' },
      'dry-run': { type: 'boolean' },
      ...apiOptions,
    },
    positionals: 0,
    async run({ values }, ctx) {
      const chosen = (['user', 'group', 'deployment', 'project'] as const).filter((k) => values[k] !== undefined);
      if (chosen.length !== 1) throw usageError('give exactly one of --user, --group, --deployment, --project');
      const selector = chosen[0]!;
      const dryRun = values['dry-run'] === true;
      // One call: the keys service revokes everything the selector covers in one transaction, or nothing.
      const result = await api(values, ctx).request<BulkRevocationAnswer>('POST', '/v1/revocations', {
        [selector]: values[selector] as string,
        ...(dryRun ? { dryRun } : {}),
      });
      if (ctx.out.json) ctx.out.data(result);
      else {
        const rows = result.keys.map((k) => ({
          keyId: k.keyId,
          kind: k.kind,
          owner: k.userId ?? `access-key:${k.deploymentId}:${k.slot}`,
          scope: k.scope ?? '-',
          eventId: k.eventId ?? '-',
        }));
        ctx.out.line(dryRun ? `would revoke ${rows.length} key(s) (dry run)` : `revoked ${rows.length} key(s)`);
        if (rows.length) ctx.out.table(rows, ['owner', 'kind', 'scope', 'keyId', 'eventId']);
      }
      return EXIT.ok;
    },
  },
};

/** `POST /v1/keys/{keyId}/rotate`'s answer (docs/keys.md). */
interface RotatedKey {
  keyId: string;
  key: string;
  name: string;
  scope: string;
  expiresAt: string;
  rotatedFrom: string;
  previousKeyRevokesAt: string;
  eventIds: string[];
}

/** `POST /v1/revocations`'s answer: the keys service's own result type, without the internal `replayed`. */
type BulkRevocationAnswer = Omit<BulkRevocationResult, 'replayed'>;
