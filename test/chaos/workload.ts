// The fault suite's workload: lanes of subjects, each given access to one deployment and then losing it by
// one of the four access-reducing changes (a key revocation, a collaborator removal, a group removal by
// IdP webhook, a group removal by SCIM), while every active subject's key is checked on every replica.
// Every write is retried on another writer of its kind until acknowledged (or its deadline passes), with
// the same Idempotency-Key / webhook-id, so a retry never doubles an effect. It records what the checker
// judges (checker.ts): writes with their acknowledgement and event ids, and every check's answer.
import { randomUUID } from 'node:crypto';
import type { CheckRecord, FinalCheck, WriteRecord } from './checker';
import { decided } from './checker';
import {
  type Answer,
  call,
  DEPLOYMENT_HOST,
  deliverWebhook,
  forwardAuth,
  scim,
  SCIM_GROUP,
  SCIM_PATCH,
  SCIM_USER,
} from '../cluster/harness';

export type SubjectKind = 'revoke-key' | 'remove-collaborator' | 'webhook-group' | 'scim-group';
export const SUBJECT_KINDS: SubjectKind[] = ['revoke-key', 'remove-collaborator', 'webhook-group', 'scim-group'];

export interface WorkloadTargets {
  keys: string[];
  identity: string[];
  authz: { name: string; url: string }[];
  admin: string;
  scimToken: string;
  webhookSecret: string;
}

export interface WorkloadOptions {
  /** subjects in flight at once (default 4) */
  lanes?: number;
  /** how often each active subject is checked on each replica (default 200 ms) */
  checkIntervalMs?: number;
  /** how long a subject keeps its access before it is taken away (default 1000 ms) */
  holdMs?: number;
  /** how long a subject is still checked after its removal was acknowledged (default 4000 ms) */
  lingerMs?: number;
  /** how long one write is retried before it is given up, in doubt (default 60 s) */
  writeDeadlineMs?: number;
}

interface Subject {
  id: string;
  kind: SubjectKind;
  key?: string;
  /** checked until then (epoch ms); Infinity while it holds its access */
  checkUntil: number;
}

const GROUP = 'ml-team';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Workload {
  readonly writes: WriteRecord[] = [];
  readonly checks: CheckRecord[] = [];
  readonly subjects: Subject[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private projectId = '';
  private keyOwner = '';
  private scimGroupId = '';
  private rotation = 0;
  private readonly options: Required<WorkloadOptions>;

  constructor(
    private readonly t: WorkloadTargets,
    options: WorkloadOptions = {},
  ) {
    this.options = {
      lanes: options.lanes ?? 4,
      checkIntervalMs: options.checkIntervalMs ?? 200,
      holdMs: options.holdMs ?? 1000,
      lingerMs: options.lingerMs ?? 4000,
      writeDeadlineMs: options.writeDeadlineMs ?? 60_000,
    };
  }

  /** A project, a deployment granting the group, a collaborator who owns the plain keys, the SCIM group. */
  async setup(): Promise<void> {
    const project = await this.must('identity', 'POST', '/v1/projects', { name: 'chaos' });
    this.projectId = project.body.id;
    await this.must('identity', 'POST', '/v1/deployments', {
      projectId: this.projectId,
      name: 'chaos-model',
      hosts: [DEPLOYMENT_HOST],
      grantedGroups: [GROUP],
    });
    const owner = await this.must('identity', 'POST', '/v1/users', { name: 'key-owner', kind: 'internal' });
    this.keyOwner = owner.body.id;
    await this.must('identity', 'PUT', `/v1/projects/${this.projectId}/collaborators/${this.keyOwner}`, {
      role: 'contributor',
    });
    const group = await this.retry('identity', (base) =>
      scim(base, this.t.scimToken, 'POST', '/Groups', { schemas: [SCIM_GROUP], displayName: GROUP, members: [] }),
    );
    if (!group || group.status !== 201)
      throw new Error(`creating the SCIM group failed: ${JSON.stringify(group?.body)}`);
    this.scimGroupId = group.body.id;
  }

  start(): void {
    this.running = true;
    for (let lane = 0; lane < this.options.lanes; lane++) this.loops.push(this.lane(lane));
    this.loops.push(...this.t.authz.map((replica) => this.checkLoop(replica)));
  }

  /** Lanes finish the subject at hand (so no write is left half done); checks stop. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Every subject that got a key, on every replica: retried until the replica decides (or the deadline). */
  async finalChecks(deadlineMs = 120_000): Promise<FinalCheck[]> {
    const deadline = Date.now() + deadlineMs;
    const results: FinalCheck[] = [];
    for (const subject of this.subjects) {
      if (!subject.key) continue;
      for (const replica of this.t.authz) {
        let answer = await forwardAuth(replica.url, subject.key);
        while (!decided(answer.status) && Date.now() < deadline) {
          await sleep(250);
          answer = await forwardAuth(replica.url, subject.key);
        }
        results.push({ subject: subject.id, replica: replica.name, status: answer.status });
      }
    }
    return results;
  }

  private async lane(lane: number): Promise<void> {
    while (this.running) {
      const kind = SUBJECT_KINDS[(this.rotation++ + lane) % SUBJECT_KINDS.length]!;
      const subject: Subject = { id: `${kind}-${randomUUID().slice(0, 8)}`, kind, checkUntil: Infinity };
      try {
        await this.lifecycle(subject);
      } catch (error) {
        process.stderr.write(`chaos: subject ${subject.id} stopped: ${(error as Error).message}\n`);
      }
      if (subject.checkUntil === Infinity) subject.checkUntil = Date.now() + this.options.lingerMs;
    }
  }

  /** Grant (each step acknowledged before the next), hold, take away. Gives up on a write in doubt. */
  private async lifecycle(subject: Subject): Promise<void> {
    const { id, kind } = subject;
    let userId = this.keyOwner;
    const sub = `00u-${id}`;
    if (kind === 'remove-collaborator') {
      const user = await this.write(id, 'create-user', 'grant', 'identity', (base, key) =>
        call(base, 'POST', '/v1/users', { auth: this.t.admin, body: { name: id, kind: 'internal' }, headers: key }),
      );
      if (!user) return;
      userId = user.body.id;
      const added = await this.write(id, 'add-collaborator', 'grant', 'identity', (base) =>
        call(base, 'PUT', `/v1/projects/${this.projectId}/collaborators/${userId}`, {
          auth: this.t.admin,
          body: { role: 'contributor' },
        }),
      );
      if (!added) return;
    } else if (kind === 'webhook-group' || kind === 'scim-group') {
      const user = await this.provision(id, sub);
      if (!user) return;
      userId = user;
      const added =
        kind === 'webhook-group'
          ? await this.webhook(id, 'group-added-by-webhook', 'grant', 'group.member.added', sub)
          : await this.write(id, 'group-added-by-scim', 'grant', 'identity', (base) =>
              scim(base, this.t.scimToken, 'PATCH', `/Groups/${this.scimGroupId}`, {
                schemas: [SCIM_PATCH],
                Operations: [{ op: 'add', path: 'members', value: [{ value: userId }] }],
              }),
            );
      if (!added) return;
    }
    const key = await this.write(id, 'create-key', 'grant', 'keys', (base, idempotency) =>
      call(base, 'POST', `/v1/users/${userId}/keys`, {
        auth: this.t.admin,
        body: { name: id, scope: 'inference' },
        headers: idempotency,
      }),
    );
    if (!key) return;
    // A retry answered from the idempotency record carries no secret: only the first answer does.
    if (typeof key.body.key !== 'string') throw new Error('the key secret was lost with a retried answer');
    subject.key = key.body.key;
    this.subjects.push(subject);
    await sleep(this.options.holdMs);

    if (kind === 'revoke-key') {
      await this.write(id, 'revoke-key', 'remove', 'keys', (base) =>
        call(base, 'DELETE', `/v1/keys/${key.body.keyId}`, { auth: this.t.admin }),
      );
    } else if (kind === 'remove-collaborator') {
      await this.write(id, 'remove-collaborator', 'remove', 'identity', (base) =>
        call(base, 'DELETE', `/v1/projects/${this.projectId}/collaborators/${userId}`, { auth: this.t.admin }),
      );
    } else if (kind === 'webhook-group') {
      await this.webhook(id, 'group-removed-by-webhook', 'remove', 'group.member.removed', sub);
    } else {
      await this.write(id, 'group-removed-by-scim', 'remove', 'identity', (base) =>
        scim(base, this.t.scimToken, 'PATCH', `/Groups/${this.scimGroupId}`, {
          schemas: [SCIM_PATCH],
          Operations: [{ op: 'remove', path: `members[value eq "${userId}"]` }],
        }),
      );
    }
    subject.checkUntil = Date.now() + this.options.lingerMs;
  }

  /** SCIM provisioning; a retry of a create that did commit finds the user by externalId (409 uniqueness). */
  private async provision(subjectId: string, sub: string): Promise<string | undefined> {
    const answer = await this.write(subjectId, 'scim-provision', 'grant', 'identity', async (base) => {
      const created = await scim(base, this.t.scimToken, 'POST', '/Users', {
        schemas: [SCIM_USER],
        userName: `${sub}@example.com`,
        externalId: sub,
      });
      if (created.status !== 409) return created;
      const found = await scim(
        base,
        this.t.scimToken,
        'GET',
        `/Users?filter=${encodeURIComponent(`externalId eq "${sub}"`)}`,
      );
      const id = found.body?.Resources?.[0]?.id;
      return id ? { ...found, status: 200, body: { id }, eventIds: [] } : found;
    });
    return answer?.body?.id;
  }

  private webhook(subject: string, op: string, effect: 'grant' | 'remove', type: string, sub: string) {
    // One webhook-id for every attempt: Tollgate applies an id once, so a retry is never a second change.
    const id = `msg_${randomUUID()}`;
    return this.write(subject, op, effect, 'identity', (base) =>
      deliverWebhook(base, this.t.webhookSecret, { type, data: { subject: sub, group: GROUP } }, id),
    );
  }

  /**
   * One logical write: attempts on the writers of `kind` in turn until a 2xx (acknowledged: recorded with
   * its event ids) or a 4xx (a bug in the workload: thrown), retrying 5xx and no answer until the deadline
   * (then the write is in doubt: recorded without acknowledgement).
   */
  private async write(
    subject: string,
    op: string,
    effect: 'grant' | 'remove',
    kind: 'keys' | 'identity',
    send: (base: string, idempotency: Record<string, string>) => Promise<Answer>,
  ): Promise<Answer | undefined> {
    const record: WriteRecord = { subject, op, effect, sentAt: Date.now(), eventIds: [] };
    this.writes.push(record);
    const answer = await this.retry(kind, send);
    if (!answer) return undefined;
    if (answer.status >= 400) throw new Error(`${op} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    record.ackAt = Date.now();
    record.eventIds = answer.eventIds;
    return answer;
  }

  private async retry(
    kind: 'keys' | 'identity',
    send: (base: string, idempotency: Record<string, string>) => Promise<Answer>,
  ): Promise<Answer | undefined> {
    const writers = this.t[kind];
    const idempotency = { 'idempotency-key': randomUUID() };
    const deadline = Date.now() + this.options.writeDeadlineMs;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const answer = await send(writers[attempt % writers.length]!, idempotency);
      if (answer.status !== 0 && answer.status < 500) return answer;
      await sleep(250);
    }
    return undefined;
  }

  private async must(kind: 'keys' | 'identity', method: string, path: string, body: unknown): Promise<Answer> {
    const answer = await this.retry(kind, (base, idempotency) =>
      call(base, method, path, { auth: this.t.admin, body, headers: idempotency }),
    );
    if (!answer || answer.status >= 300) throw new Error(`${method} ${path} failed: ${JSON.stringify(answer?.body)}`);
    return answer;
  }

  /** Checks the replica's share of active subjects each interval; waits for a batch before the next one. */
  private async checkLoop(replica: { name: string; url: string }): Promise<void> {
    while (this.running) {
      const started = Date.now();
      const active = this.subjects.filter((s) => s.key && s.checkUntil > started);
      await Promise.all(
        active.map(async (s) => {
          const sentAt = Date.now();
          const answer = await forwardAuth(replica.url, s.key!, 3000);
          const check: CheckRecord = {
            subject: s.id,
            replica: replica.name,
            sentAt,
            answeredAt: Date.now(),
            status: answer.status,
          };
          if (!decided(answer.status)) check.reason = answer.headers.get('x-ext-auth-reason') ?? undefined;
          this.checks.push(check);
        }),
      );
      await sleep(Math.max(0, this.options.checkIntervalMs - (Date.now() - started)));
    }
  }
}
