import { getMember } from './filter';
import { BULK_MAX_OPERATIONS } from './schema';
import { invalidSyntax, invalidValue, ScimError } from './scim-error';
import { toScimError } from './scim-error-presenter';
import type { ScimRequest, ScimService } from './scim.service';

type Json = Record<string, unknown>;

export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

interface BulkOperation {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  bulkId?: string;
  version?: string;
  data?: unknown;
}

/** One entry of the BulkResponse's `Operations`. */
export interface BulkResult {
  method: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: Json;
}

/**
 * `POST /scim/v2/Bulk` (RFC 7644 section 3.7): the operations run in order, each through the same service
 * call as its single-resource route (so each is its own write and its own events), and each is reported
 * with its status. They are not one transaction: an operation that fails leaves the earlier ones done, as
 * the RFC allows; `failOnErrors` stops the run after that many errors, and an outage (a 503) stops it at
 * once, so the report says exactly what was done. `bulkId:<id>` in a path or in data names a resource
 * created earlier in the same request; a reference to one not (yet) created fails that operation.
 */
export async function runBulk(scim: ScimService, request: ScimRequest, body: unknown): Promise<Json> {
  const { operations, failOnErrors } = parseBulkRequest(body);
  const created = new Map<string, string>();
  const results: BulkResult[] = [];
  let errors = 0;
  for (const operation of operations) {
    const { result, createdId } = await runOne(scim, request, operation, created);
    results.push(result);
    if (operation.bulkId !== undefined && createdId !== undefined) created.set(operation.bulkId, createdId);
    const status = Number(result.status);
    if (status >= 400) errors++;
    if (status >= 500 || (failOnErrors !== undefined && errors >= failOnErrors)) break;
  }
  return { schemas: [BULK_RESPONSE_SCHEMA], Operations: results };
}

async function runOne(
  scim: ScimService,
  request: ScimRequest,
  operation: BulkOperation,
  created: ReadonlyMap<string, string>,
): Promise<{ result: BulkResult; createdId?: string }> {
  const head = {
    method: operation.method,
    ...(operation.bulkId !== undefined ? { bulkId: operation.bulkId } : {}),
  };
  try {
    const { resource, id } = target(operation.path, created);
    const data = operation.data === undefined ? undefined : resolveReferences(operation.data, created);
    const version = operation.version;
    let answer: { status: number; body?: Json; version?: string; id?: string };
    if (operation.method === 'POST') {
      if (id !== undefined) throw invalidValue('POST goes to /Users or /Groups');
      const body = resource === 'Users' ? await scim.createUser(request, data) : await scim.createGroup(request, data);
      answer = { status: 201, body, id: String(body.id) };
    } else if (id === undefined) {
      throw invalidValue(`${operation.method} needs a resource path such as /${resource}/{id}`);
    } else if (operation.method === 'DELETE') {
      if (resource === 'Users') await scim.deleteUser(request, id, version);
      else await scim.deleteGroup(request, id, version);
      answer = { status: 204 };
    } else if (resource === 'Users') {
      const body =
        operation.method === 'PUT'
          ? await scim.replaceUser(request, id, data, version)
          : await scim.patchUser(request, id, data, version);
      answer = { status: 200, body, id };
    } else {
      const newVersion =
        operation.method === 'PUT'
          ? await scim.replaceGroup(request, id, data, version)
          : await scim.patchGroup(request, id, data, version);
      answer = { status: 200, version: newVersion, id };
    }
    const meta = answer.body?.meta as { version?: string } | undefined;
    const resultVersion = meta?.version ?? answer.version;
    const result: BulkResult = {
      ...head,
      ...(answer.id !== undefined ? { location: `${request.baseUrl}/${resource}/${answer.id}` } : {}),
      ...(resultVersion !== undefined ? { version: resultVersion } : {}),
      status: String(answer.status),
    };
    return answer.status === 201 ? { result, createdId: answer.id } : { result };
  } catch (exception) {
    const error = toScimError(exception);
    // A bug is not an operation's outcome: it goes to the route's error handling (logged, 500).
    if (error.status === 500) throw exception;
    return { result: { ...head, status: String(error.status), response: error.toJSON() } };
  }
}

/** When `created` has it, the id a `bulkId:<id>` names. */
function resolveId(value: string, created: ReadonlyMap<string, string>): string {
  if (!value.startsWith('bulkId:')) return value;
  const id = created.get(value.slice('bulkId:'.length));
  if (id === undefined) throw invalidValue(`${value} names no resource created earlier in this request`);
  return id;
}

/** Replaces every `bulkId:<id>` string in `data` (at any depth) with the id it names. */
function resolveReferences(data: unknown, created: ReadonlyMap<string, string>): unknown {
  if (typeof data === 'string') return resolveId(data, created);
  if (Array.isArray(data)) return data.map((item) => resolveReferences(item, created));
  if (!isObject(data)) return data;
  // Keys come from the request: a null-prototype object never reaches Object.prototype.
  const copy = Object.create(null) as Json;
  for (const [key, value] of Object.entries(data)) copy[key] = resolveReferences(value, created);
  return copy;
}

function target(path: string, created: ReadonlyMap<string, string>): { resource: 'Users' | 'Groups'; id?: string } {
  const match = /^\/(Users|Groups)(?:\/([^/]+))?$/.exec(path);
  if (!match)
    throw new ScimError(400, `path ${JSON.stringify(path)} is not /Users, /Groups or one of them`, 'invalidPath');
  const resource = match[1] as 'Users' | 'Groups';
  return match[2] === undefined ? { resource } : { resource, id: resolveId(decodeURIComponent(match[2]), created) };
}

function parseBulkRequest(body: unknown): { operations: BulkOperation[]; failOnErrors?: number } {
  if (!isObject(body)) throw invalidSyntax('a BulkRequest object is required');
  const schemas = getMember(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.includes(BULK_REQUEST_SCHEMA))
    throw invalidSyntax(`schemas must contain ${BULK_REQUEST_SCHEMA}`);
  const failOnErrors = getMember(body, 'failOnErrors');
  if (failOnErrors !== undefined && (!Number.isInteger(failOnErrors) || (failOnErrors as number) < 1))
    throw invalidValue('failOnErrors must be an integer of at least 1');
  const list = getMember(body, 'Operations');
  if (!Array.isArray(list) || list.length === 0) throw invalidValue('Operations must be a non-empty array');
  if (list.length > BULK_MAX_OPERATIONS)
    throw new ScimError(413, `at most ${BULK_MAX_OPERATIONS} operations in one BulkRequest`, 'tooMany');
  const bulkIds = new Set<string>();
  const operations = list.map((raw, i): BulkOperation => {
    if (!isObject(raw)) throw invalidValue(`Operations[${i}] must be an object`);
    const method = getMember(raw, 'method');
    const path = getMember(raw, 'path');
    const bulkId = getMember(raw, 'bulkId');
    const version = getMember(raw, 'version');
    const data = getMember(raw, 'data');
    if (typeof method !== 'string' || !/^(POST|PUT|PATCH|DELETE)$/i.test(method))
      throw invalidValue(`Operations[${i}].method must be POST, PUT, PATCH or DELETE`);
    if (typeof path !== 'string') throw invalidValue(`Operations[${i}].path is required`);
    const upper = method.toUpperCase() as BulkOperation['method'];
    if (bulkId !== undefined && (typeof bulkId !== 'string' || bulkId === '' || bulkIds.has(bulkId)))
      throw invalidValue(`Operations[${i}].bulkId must be a string unique in the request`);
    if (upper === 'POST' && bulkId === undefined) throw invalidValue(`Operations[${i}].bulkId is required for POST`);
    if (version !== undefined && typeof version !== 'string')
      throw invalidValue(`Operations[${i}].version must be a string`);
    if (upper !== 'DELETE' && data === undefined) throw invalidValue(`Operations[${i}].data is required`);
    if (typeof bulkId === 'string') bulkIds.add(bulkId);
    return {
      method: upper,
      path,
      ...(typeof bulkId === 'string' ? { bulkId } : {}),
      ...(typeof version === 'string' ? { version } : {}),
      ...(data !== undefined ? { data } : {}),
    };
  });
  return { operations, ...(failOnErrors !== undefined ? { failOnErrors: failOnErrors as number } : {}) };
}
