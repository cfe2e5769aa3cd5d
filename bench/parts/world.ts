// The bench's world, the same in every process of `bench:authz`: users collaborating on one project, one
// deployment on HOST + `/`, and keys whose secrets every process derives from their index.
import { createHash } from 'node:crypto';
import { generateKey, hashSecret } from '@tollgate/authn';
import type { NewEvent } from '@tollgate/event-store';

export const HOST = 'models.bench.example.test';
export const PATH = '/v1/chat/completions';
export const DEPLOYMENT = 'dep_bench000000000001';
export const PROJECT = 'prj_bench000000000001';
export const USERS = 1000;
export const iso = (ms: number) => new Date(ms).toISOString();
export const userId = (i: number) => `usr_bench${String(i % USERS).padStart(11, '0')}`;
export const keyId = (i: number) => `key_bench${String(i).padStart(11, '0')}`;

/** Key i, the same in every process: its random part comes from SHA-256 of its index. */
export function benchKey(i: number): string {
  return generateKey('inference', {
    randomBytes: (size) => {
      const out = Buffer.alloc(size);
      for (let off = 0, n = 0; off < size; n++)
        off += createHash('sha256').update(`tollgate-bench-${i}-${n}`).digest().copy(out, off);
      return out;
    },
  });
}

/** The world every part uses: users collaborating on one project, one deployment on HOST + `/`. */
export function worldEvents(now: number): { streamId: string; events: NewEvent[] }[] {
  const streams: { streamId: string; events: NewEvent[] }[] = [];
  const created = iso(now - 86_400_000);
  for (let u = 0; u < USERS; u++) {
    const id = userId(u);
    streams.push({
      streamId: `user-${id}`,
      events: [
        {
          type: 'UserCreated',
          data: {
            userId: id,
            name: `bench-user-${u}`,
            kind: 'internal',
            admin: false,
            email: null,
            createdAt: created,
          },
        },
      ],
    });
  }
  const project: NewEvent[] = [
    { type: 'ProjectCreated', data: { projectId: PROJECT, name: 'bench', ownerId: userId(0), createdAt: created } },
  ];
  for (let u = 0; u < USERS; u++)
    project.push({ type: 'CollaboratorSet', data: { projectId: PROJECT, userId: userId(u), role: 'contributor' } });
  streams.push({ streamId: `project-${PROJECT}`, events: project });
  streams.push({
    streamId: `deployment-${DEPLOYMENT}`,
    events: [
      {
        type: 'DeploymentCreated',
        data: {
          deploymentId: DEPLOYMENT,
          projectId: PROJECT,
          name: 'bench',
          hosts: [HOST],
          pathPrefixes: ['/'],
          authentication: true,
          credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
          grantedGroups: [],
          environment: null,
        },
      },
    ],
  });
  return streams;
}

export function keyCreated(i: number, secret: string, now: number): NewEvent {
  return {
    type: 'KeyCreated',
    data: {
      keyId: keyId(i),
      kind: 'user-key',
      secretHash: hashSecret(secret),
      name: `k${i}`,
      userId: userId(i),
      scope: 'inference',
      expiresAt: iso(now + 30 * 86_400_000),
      createdAt: iso(now - 3_600_000),
    },
  };
}
