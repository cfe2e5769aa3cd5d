import { ApiError } from '@tollgate/contracts';
import { type CommandContext, idpActor } from '../../application/command-context';
import type { UsersService } from '../../application/users.service';
import { characterCount, MAX_GROUP_NAME_LENGTH } from '../../domain/actor';
import { externalUserName, type UserState } from '../../domain/user';
import { type ScimGroupRow, type ScimStore, ScimUniquenessError, type ScimUserRow } from '../../storage/scim-store';
import type { Connector, ConnectorRegistry } from '../connectors';
import { type Filter, getMember, matches, parseFilter, simpleEquality } from './filter';
import { applyPatch, type PatchOperation, parsePatchRequest } from './patch';
import {
  ENTERPRISE_USER_SCHEMA,
  GROUP_SCHEMA,
  GROUP_SHAPE,
  LIST_RESPONSE_SCHEMA,
  MAX_RESULTS,
  USER_SCHEMA,
  USER_SHAPE,
} from './schema';
import { invalidSyntax, invalidValue, mutability, ScimError, scimNotFound, uniqueness } from './scim-error';
import { sortResources } from './sort';
import { checkIfMatch, groupVersion, userVersion } from './versions';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Attributes Tollgate computes or never keeps; what the IdP sends for them is not stored. */
const USER_NOT_STORED = new Set(['id', 'externalid', 'username', 'active', 'groups', 'meta', 'schemas', 'password']);

export interface ListQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
  attributes?: string;
  excludedAttributes?: string;
  sortBy?: string;
  sortOrder?: string;
}

export interface ListResponse {
  schemas: string[];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: Json[];
}

/** A request's view of the connector: who (the connector matched by the bearer token) and where (the base URL). */
export interface ScimRequest {
  connector: Connector;
  baseUrl: string;
  requestId: string;
}

interface UserInput {
  userName: string;
  externalId: string;
  active: boolean;
  attributes: Json;
}

interface GroupInput {
  displayName: string;
  externalId: string | null;
  members: string[];
}

/**
 * SCIM 2.0 (RFC 7643/7644) for one IdP connector at a time. A SCIM user is the Tollgate external user linked
 * to (connector, externalId), the same one OIDC sign-in and webhooks act on; `active: false` deactivates it.
 * A SCIM group's displayName is a Tollgate group name: its members are the connector's users whose one
 * group set holds it, and membership changes edit those sets (each a `GroupsEdited`: a SCIM edit takes groups away at once but is no
 * login, so it leaves the login clock of `requireExternalUserLoginAfterHours` alone).
 */
export class ScimService {
  constructor(
    private readonly connectors: ConnectorRegistry,
    private readonly users: UsersService,
    private readonly store: ScimStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The connector whose SCIM bearer token this is; 401 otherwise. */
  authenticate(authorization: string | undefined): Connector {
    const match = /^Bearer[ ]+(\S{1,1024})\s*$/i.exec(authorization ?? '');
    const connector = match ? this.connectors.byScimToken(match[1]!) : undefined;
    if (!connector) {
      throw new ScimError(401, 'a valid SCIM bearer token is required', undefined, {
        'WWW-Authenticate': 'Bearer realm="tollgate-scim"',
      });
    }
    return connector;
  }

  private context(request: ScimRequest): CommandContext {
    return {
      actor: idpActor(request.connector.id),
      channel: 'scim',
      idp: request.connector.id,
      requestId: request.requestId,
    };
  }

  // --- users --------------------------------------------------------------------------------------------

  private async tollgateUser(userId: string): Promise<UserState> {
    const { state } = await this.users.loadUser(userId);
    if (!state.exists) throw scimNotFound('User');
    return state;
  }

  private async userResource(request: ScimRequest, row: ScimUserRow, state?: UserState): Promise<Json> {
    const user = state ?? (await this.tollgateUser(row.userId));
    const groups = await this.store.groupsNamed(request.connector.id, user.groups);
    const hasEnterprise = Object.keys(row.attributes).some(
      (k) => k.toLowerCase() === ENTERPRISE_USER_SCHEMA.toLowerCase(),
    );
    return {
      schemas: hasEnterprise ? [USER_SCHEMA, ENTERPRISE_USER_SCHEMA] : [USER_SCHEMA],
      id: row.userId,
      externalId: row.externalId,
      userName: row.userName,
      ...row.attributes,
      active: user.deactivatedAt === null,
      groups: groups.map((g) => ({
        value: g.groupId,
        display: g.displayName,
        $ref: `${request.baseUrl}/Groups/${g.groupId}`,
        type: 'direct',
      })),
      meta: {
        resourceType: 'User',
        created: row.createdAt.toISOString(),
        lastModified: row.updatedAt.toISOString(),
        location: `${request.baseUrl}/Users/${row.userId}`,
        version: userVersion(row.version, user.version),
      },
    };
  }

  /** userName, externalId, active and the other attributes of a User body (POST, PUT, or the result of a PATCH). */
  private userInput(idp: string, body: Json): UserInput {
    const userName = getMember(body, 'userName');
    if (typeof userName !== 'string' || userName.trim() === '' || characterCount(userName) > 256) {
      throw invalidValue('userName is required: a non-empty string of at most 256 characters');
    }
    const externalId = getMember(body, 'externalId');
    if (typeof externalId !== 'string' || externalId === '' || externalId.length > 255) {
      throw invalidValue(
        "externalId is required: the IdP's subject (the OIDC sub that sign-in and webhooks use), at most 255 characters",
      );
    }
    if (characterCount(externalUserName(idp, externalId)) > 200) {
      // `<idp>:<externalId>` is the Tollgate user name (at most 200 characters).
      throw invalidValue('externalId is too long for a Tollgate user name');
    }
    let active = getMember(body, 'active');
    if (typeof active === 'string' && /^(true|false)$/i.test(active)) active = active.toLowerCase() === 'true';
    if (active === undefined || active === null) active = true;
    if (typeof active !== 'boolean') throw invalidValue('active must be a boolean');
    // Canonical attribute names and booleans, as a path-less replace would write them.
    const rest = Object.fromEntries(Object.entries(body).filter(([k]) => !USER_NOT_STORED.has(k.toLowerCase())));
    const attributes = applyPatch({}, Object.keys(rest).length ? [{ op: 'replace', value: rest }] : [], USER_SHAPE);
    return { userName, externalId, active, attributes };
  }

  private requireSchema(body: unknown, schema: string): Json {
    if (!isObject(body)) throw invalidSyntax('the body must be a JSON object');
    const schemas = getMember(body, 'schemas');
    if (
      !Array.isArray(schemas) ||
      !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === schema.toLowerCase())
    ) {
      throw invalidSyntax(`schemas must contain ${schema}`);
    }
    return body;
  }

  private primaryEmail(attributes: Json): string | null {
    const emails = getMember(attributes, 'emails');
    if (!Array.isArray(emails)) return null;
    const primary = emails.find((e) => isObject(e) && getMember(e, 'primary') === true) ?? emails[0];
    const value = isObject(primary) ? getMember(primary, 'value') : undefined;
    return typeof value === 'string' && /^[^\s@]{1,64}@[^\s@]{1,255}$/.test(value) ? value : null;
  }

  async createUser(request: ScimRequest, body: unknown): Promise<Json> {
    const idp = request.connector.id;
    const input = this.userInput(idp, this.requireSchema(body, USER_SCHEMA));
    if (await this.store.userByExternalId(idp, input.externalId))
      throw uniqueness(`a user with externalId ${JSON.stringify(input.externalId)} exists`);
    if (await this.store.userByUserName(idp, input.userName))
      throw uniqueness(`a user with userName ${JSON.stringify(input.userName)} exists`);
    const context = this.context(request);
    // The user may exist already (signed in first, or provisioned before a DELETE): it is adopted, and
    // reactivated when the IdP provisions it active again (its revoked keys stay revoked).
    const { state } = await this.translate(() =>
      this.users.ensureExternalUser(context, idp, input.externalId, this.primaryEmail(input.attributes)),
    );
    let row: ScimUserRow;
    try {
      row = await this.store.insertUser({
        idp,
        userId: state.userId,
        userName: input.userName,
        externalId: input.externalId,
        attributes: input.attributes,
      });
    } catch (error) {
      if (error instanceof ScimUniquenessError) throw uniqueness(`${error.attribute} is already taken`);
      throw error;
    }
    const user = await this.setActive(request, state, input.active);
    return this.userResource(request, row, user);
  }

  async getUser(request: ScimRequest, userId: string): Promise<Json> {
    const row = await this.store.user(request.connector.id, userId);
    if (!row) throw scimNotFound('User');
    return this.userResource(request, row);
  }

  async listUsers(request: ScimRequest, query: ListQuery): Promise<ListResponse> {
    const idp = request.connector.id;
    const filter = query.filter === undefined || query.filter.trim() === '' ? undefined : parseFilter(query.filter);
    const equality = filter && simpleEquality(filter);
    let rows: ScimUserRow[];
    if (equality?.attr === 'username') rows = compact([await this.store.userByUserName(idp, equality.value)]);
    else if (equality?.attr === 'externalid') rows = compact([await this.store.userByExternalId(idp, equality.value)]);
    else if (equality?.attr === 'id') rows = compact([await this.store.user(idp, equality.value)]);
    else rows = await this.store.users(idp);
    let resources = await Promise.all(rows.map((row) => this.userResource(request, row)));
    // Also after an index lookup: the index is case-insensitive, the filter may be stricter (externalId, id).
    if (filter) resources = resources.filter((r) => matches(filter, r));
    return page(resources, query);
  }

  async replaceUser(request: ScimRequest, userId: string, body: unknown, ifMatch?: string): Promise<Json> {
    const input = this.userInput(request.connector.id, this.requireSchema(body, USER_SCHEMA));
    return this.writeUser(request, userId, ifMatch, () => input);
  }

  async patchUser(request: ScimRequest, userId: string, body: unknown, ifMatch?: string): Promise<Json> {
    const operations = parsePatchRequest(body);
    return this.writeUser(request, userId, ifMatch, (current) =>
      this.userInput(request.connector.id, applyPatch(current, operations, USER_SHAPE)),
    );
  }

  /** Computes the new user from the current resource, then writes it (the SCIM row at its version; deactivation). */
  private async writeUser(
    request: ScimRequest,
    userId: string,
    ifMatch: string | undefined,
    next: (current: Json) => UserInput,
  ): Promise<Json> {
    const idp = request.connector.id;
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await this.store.user(idp, userId);
      if (!row) throw scimNotFound('User');
      const state = await this.tollgateUser(userId);
      const current = await this.userResource(request, row, state);
      // Checked at each attempt: a concurrent write makes the row update below miss and the next check fail.
      checkIfMatch(ifMatch, userVersion(row.version, state.version));
      const input = next(current);
      if (input.externalId !== row.externalId) {
        throw mutability('externalId is the IdP subject this user is linked to (sign-in, webhooks); it cannot change');
      }
      const user = await this.setActive(request, state, input.active);
      let written: ScimUserRow | undefined;
      try {
        written = await this.store.updateUser(idp, userId, row.version, {
          userName: input.userName,
          attributes: input.attributes,
        });
      } catch (error) {
        if (error instanceof ScimUniquenessError) throw uniqueness(`${error.attribute} is already taken`);
        throw error;
      }
      if (written) return this.userResource(request, written, user);
    }
    throw new ScimError(409, 'the user was changed concurrently; retry');
  }

  /**
   * `active` as the IdP sets it: false deactivates the Tollgate user (and so revokes their keys), true
   * reactivates a deactivated one (Okta and Entra flip it both ways); the revoked keys stay revoked.
   */
  private async setActive(request: ScimRequest, state: UserState, active: boolean): Promise<UserState> {
    if (active === (state.deactivatedAt === null)) return state;
    const at = this.now().toISOString();
    return this.users.userCommand(
      this.context(request),
      state.userId,
      active ? { type: 'ReactivateUser', at } : { type: 'DeactivateUser', at },
    );
  }

  /** Hard delete from the IdP: the Tollgate user is deactivated (never deleted) and leaves SCIM. */
  async deleteUser(request: ScimRequest, userId: string, ifMatch?: string): Promise<void> {
    const row = await this.store.user(request.connector.id, userId);
    if (!row) throw scimNotFound('User');
    checkIfMatch(ifMatch, userVersion(row.version, (await this.tollgateUser(userId)).version));
    await this.users.userCommand(this.context(request), userId, {
      type: 'DeactivateUser',
      at: this.now().toISOString(),
    });
    await this.store.deleteUser(request.connector.id, userId);
  }

  // --- groups -------------------------------------------------------------------------------------------

  private async groupResource(request: ScimRequest, row: ScimGroupRow, withMembers = true): Promise<Json> {
    const resource: Json = {
      schemas: [GROUP_SCHEMA],
      id: row.groupId,
      ...(row.externalId !== null ? { externalId: row.externalId } : {}),
      displayName: row.displayName,
    };
    if (withMembers) {
      const members = await this.users.membersOf(request.connector.id, row.displayName);
      resource.members = members.map((userId) => ({
        value: userId,
        $ref: `${request.baseUrl}/Users/${userId}`,
        type: 'User',
      }));
    }
    resource.meta = {
      resourceType: 'Group',
      created: row.createdAt.toISOString(),
      lastModified: row.updatedAt.toISOString(),
      location: `${request.baseUrl}/Groups/${row.groupId}`,
      version: groupVersion(row.version),
    };
    return resource;
  }

  private groupInput(body: Json): GroupInput {
    const displayName = getMember(body, 'displayName');
    if (typeof displayName !== 'string' || displayName === '' || displayName.length > MAX_GROUP_NAME_LENGTH) {
      throw invalidValue(`displayName is required: the group name, 1 to ${MAX_GROUP_NAME_LENGTH} characters`);
    }
    const externalId = getMember(body, 'externalId');
    if (
      externalId !== undefined &&
      externalId !== null &&
      (typeof externalId !== 'string' || externalId.length > 255)
    ) {
      throw invalidValue('externalId must be a string');
    }
    const members = getMember(body, 'members');
    if (members !== undefined && members !== null && !Array.isArray(members))
      throw invalidValue('members must be an array');
    const ids = ((members ?? []) as unknown[]).map((m, i) => {
      const value = isObject(m) ? getMember(m, 'value') : undefined;
      if (typeof value !== 'string' || value === '') throw invalidValue(`members[${i}].value must be a user id`);
      return value;
    });
    return { displayName, externalId: typeof externalId === 'string' ? externalId : null, members: [...new Set(ids)] };
  }

  /** Members must be users of this connector (a connector never changes another connector's or an internal user's groups). */
  private async assertMembers(request: ScimRequest, userIds: readonly string[]): Promise<void> {
    for (const userId of userIds) {
      const { state } = await this.users.loadUser(userId);
      if (!state.exists || state.idp !== request.connector.id)
        throw invalidValue(`member ${JSON.stringify(userId)} is not a user of this connector`);
    }
  }

  async createGroup(request: ScimRequest, body: unknown): Promise<Json> {
    const input = this.groupInput(this.requireSchema(body, GROUP_SCHEMA));
    await this.assertMembers(request, input.members);
    let row: ScimGroupRow;
    try {
      row = await this.store.insertGroup({
        groupId: newGroupId(),
        idp: request.connector.id,
        displayName: input.displayName,
        externalId: input.externalId,
      });
    } catch (error) {
      if (error instanceof ScimUniquenessError)
        throw uniqueness(`a group named ${JSON.stringify(input.displayName)} exists`);
      throw error;
    }
    const at = this.now().toISOString();
    for (const userId of input.members) {
      await this.users.userCommand(this.context(request), userId, {
        type: 'EditGroups',
        add: [input.displayName],
        remove: [],
        at,
        refresh: false,
      });
    }
    return this.groupResource(request, row);
  }

  async getGroup(request: ScimRequest, groupId: string, query: ListQuery): Promise<Json> {
    const row = await this.store.group(request.connector.id, groupId);
    if (!row) throw scimNotFound('Group');
    return select(await this.groupResource(request, row, wantsMembers(query)), query);
  }

  async listGroups(request: ScimRequest, query: ListQuery): Promise<ListResponse> {
    const idp = request.connector.id;
    const filter: Filter | undefined =
      query.filter === undefined || query.filter.trim() === '' ? undefined : parseFilter(query.filter);
    const equality = filter && simpleEquality(filter);
    let rows: ScimGroupRow[];
    if (equality?.attr === 'displayname') rows = compact([await this.store.groupByDisplayName(idp, equality.value)]);
    else if (equality?.attr === 'id') rows = compact([await this.store.group(idp, equality.value)]);
    else rows = await this.store.groups(idp);
    const filterNeedsMembers = filter !== undefined && JSON.stringify(filter).toLowerCase().includes('"members"');
    let resources = await Promise.all(
      rows.map((row) => this.groupResource(request, row, wantsMembers(query) || filterNeedsMembers)),
    );
    if (filter) resources = resources.filter((r) => matches(filter, r, groupAccess));
    if (!wantsMembers(query)) resources = resources.map(({ members: _m, ...r }) => r);
    return page(resources, query);
  }

  /** Returns the group's new version (its ETag). */
  async replaceGroup(request: ScimRequest, groupId: string, body: unknown, ifMatch?: string): Promise<string> {
    const input = this.groupInput(this.requireSchema(body, GROUP_SCHEMA));
    return this.writeGroup(request, groupId, ifMatch, () => input);
  }

  /** Returns the group's new version (its ETag). */
  async patchGroup(request: ScimRequest, groupId: string, body: unknown, ifMatch?: string): Promise<string> {
    const operations: PatchOperation[] = parsePatchRequest(body);
    return this.writeGroup(request, groupId, ifMatch, (current) =>
      this.groupInput(applyPatch(current, operations, GROUP_SHAPE)),
    );
  }

  private async writeGroup(
    request: ScimRequest,
    groupId: string,
    ifMatch: string | undefined,
    next: (current: Json) => GroupInput,
  ): Promise<string> {
    const idp = request.connector.id;
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await this.store.group(idp, groupId);
      if (!row) throw scimNotFound('Group');
      checkIfMatch(ifMatch, groupVersion(row.version));
      const before = await this.users.membersOf(idp, row.displayName);
      const current: Json = {
        id: row.groupId,
        ...(row.externalId !== null ? { externalId: row.externalId } : {}),
        displayName: row.displayName,
        members: before.map((value) => ({ value })),
      };
      const input = next(current);
      const added = input.members.filter((m) => !before.includes(m));
      await this.assertMembers(request, added);
      let written: ScimGroupRow | undefined;
      try {
        written = await this.store.updateGroup(idp, groupId, row.version, {
          displayName: input.displayName,
          externalId: input.externalId,
        });
      } catch (error) {
        if (error instanceof ScimUniquenessError)
          throw uniqueness(`a group named ${JSON.stringify(input.displayName)} exists`);
        throw error;
      }
      if (!written) continue;
      // Each affected user's one group set is edited; a rename moves every member to the new name.
      const renamed = input.displayName !== row.displayName;
      const at = this.now().toISOString();
      const affected = new Set([...before, ...input.members]);
      for (const userId of affected) {
        const stays = input.members.includes(userId);
        const was = before.includes(userId);
        const add = stays && (renamed || !was) ? [input.displayName] : [];
        const remove = was && (renamed || !stays) ? [row.displayName] : [];
        if (add.length || remove.length)
          await this.users.userCommand(this.context(request), userId, {
            type: 'EditGroups',
            add,
            remove,
            at,
            refresh: false,
          });
      }
      return groupVersion(written.version);
    }
    throw new ScimError(409, 'the group was changed concurrently; retry');
  }

  async deleteGroup(request: ScimRequest, groupId: string, ifMatch?: string): Promise<void> {
    const row = await this.store.group(request.connector.id, groupId);
    if (!row) throw scimNotFound('Group');
    checkIfMatch(ifMatch, groupVersion(row.version));
    await this.users.rewriteGroup(this.context(request), request.connector.id, row.displayName, null, {
      refresh: false,
    });
    await this.store.deleteGroup(request.connector.id, groupId);
  }

  private async translate<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ApiError && error.code === 'conflict') throw uniqueness(error.message);
      throw error;
    }
  }
}

const compact = <T>(list: (T | undefined)[]): T[] => list.filter((x): x is T => x !== undefined);

const groupAccess = {
  values: (resource: Json, path: { schema?: string; attr: string; sub?: string }) => {
    const top = getMember(resource, path.attr);
    const list = Array.isArray(top) ? top : top === undefined ? [] : [top];
    return path.sub ? list.map((x) => getMember(x, path.sub!)).filter((x) => x !== undefined) : list;
  },
  // Group names are exact and case-sensitive in Tollgate.
  caseExact: (path: { attr: string; sub?: string }) =>
    ['displayname', 'id', 'externalid', 'value'].includes((path.sub ?? path.attr).toLowerCase()),
};

function wantsMembers(query: ListQuery): boolean {
  const excluded = (query.excludedAttributes ?? '').split(',').map((s) => s.trim().toLowerCase());
  if (excluded.includes('members')) return false;
  if (query.attributes)
    return query.attributes
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .includes('members');
  return true;
}

/** `attributes` / `excludedAttributes` on top-level names (`id`, `schemas` and `meta` always stay). */
function select(resource: Json, query: ListQuery): Json {
  const always = new Set(['id', 'schemas', 'meta']);
  if (query.attributes) {
    const wanted = new Set(
      query.attributes.split(',').map((s) =>
        s
          .trim()
          .toLowerCase()
          .replace(/^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/, ''),
      ),
    );
    return Object.fromEntries(Object.entries(resource).filter(([k]) => always.has(k) || wanted.has(k.toLowerCase())));
  }
  if (query.excludedAttributes) {
    const excluded = new Set(query.excludedAttributes.split(',').map((s) => s.trim().toLowerCase()));
    return Object.fromEntries(
      Object.entries(resource).filter(([k]) => always.has(k) || !excluded.has(k.toLowerCase())),
    );
  }
  return resource;
}

function positiveInt(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  if (!/^-?\d{1,9}$/.test(value)) throw invalidValue(`${name} must be an integer`);
  return Number(value);
}

function page(resources: Json[], query: ListQuery): ListResponse {
  const startIndex = Math.max(1, positiveInt(query.startIndex, 1, 'startIndex'));
  const count = Math.min(MAX_RESULTS, Math.max(0, positiveInt(query.count, 100, 'count')));
  const sorted = sortResources(resources, query.sortBy, query.sortOrder);
  const slice = sorted.slice(startIndex - 1, startIndex - 1 + count).map((r) => select(r, query));
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: resources.length,
    startIndex,
    itemsPerPage: slice.length,
    Resources: slice,
  };
}

function newGroupId(): string {
  return `grp_${globalThis.crypto.randomUUID().replace(/-/g, '')}`;
}
