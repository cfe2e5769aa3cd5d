import { Controller, Delete, Get, Inject, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PresentErrorsWith } from '@tollgate/platform';
import { runBulk } from './bulk';
import { type ListQuery, ScimService, type ScimRequest } from './scim.service';
import { invalidSyntax } from './scim-error';
import { presentScimError, SCIM_CONTENT_TYPE } from './scim-error-presenter';
import { resourceTypes, schemaResources, serviceProviderConfig, LIST_RESPONSE_SCHEMA } from './schema';

export const SCIM_SERVICE = Symbol('SCIM_SERVICE');

/** The request body, parsed by the platform's one JSON policy (its errors answered in SCIM's schema). */
function jsonBody(request: FastifyRequest): unknown {
  if (request.body === undefined) throw invalidSyntax('a JSON body is required');
  return request.body;
}

/** Query parameters as single strings (a repeated parameter counts once: its first value). */
function listQuery(query: Record<string, unknown>): ListQuery {
  const one = (v: unknown): string | undefined =>
    typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
  return {
    filter: one(query.filter),
    startIndex: one(query.startIndex),
    count: one(query.count),
    attributes: one(query.attributes),
    excludedAttributes: one(query.excludedAttributes),
    sortBy: one(query.sortBy),
    sortOrder: one(query.sortOrder),
  };
}

/** `If-Match` as sent (RFC 7644 section 3.14), for PUT, PATCH and DELETE. */
function ifMatch(request: FastifyRequest): string | undefined {
  const value = request.headers['if-match'];
  return Array.isArray(value) ? value.join(',') : value;
}

/** A single resource's version (its `ETag`), unless `attributes` left `meta` out. */
function versionOf(resource: Record<string, unknown>): string | undefined {
  const meta = resource.meta as { version?: unknown } | undefined;
  return typeof meta?.version === 'string' ? meta.version : undefined;
}

function list(resources: Record<string, unknown>[]) {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: resources.length,
    startIndex: 1,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/**
 * SCIM 2.0 at `/scim/v2` (RFC 7643/7644), per IdP connector: the connector is the one whose
 * `scimBearerTokenHash` matches the bearer token. Documented in docs/idp-setup.md; listed in the OpenAPI
 * document under the `scim` tag, while the resource schemas are SCIM's own discovery (`/ServiceProviderConfig`,
 * `/ResourceTypes`, `/Schemas`, RFC 7643), which IdPs read instead.
 */
@ApiTags('scim')
@ApiBearerAuth()
@Controller('scim/v2')
@PresentErrorsWith(presentScimError)
export class ScimController {
  constructor(@Inject(SCIM_SERVICE) private readonly scim: ScimService) {}

  private request(request: FastifyRequest): ScimRequest {
    const connector = this.scim.authenticate(request.headers.authorization);
    return { connector, baseUrl: `${request.protocol}://${request.host}/scim/v2`, requestId: String(request.id) };
  }

  private send(reply: FastifyReply, status: number, body: unknown): void {
    void reply.status(status).header('Content-Type', SCIM_CONTENT_TYPE).send(JSON.stringify(body));
  }

  /** A User or Group answer, with its version as `ETag`. */
  private sendResource(reply: FastifyReply, status: number, resource: Record<string, unknown>): void {
    const version = versionOf(resource);
    if (version !== undefined) void reply.header('ETag', version);
    this.send(reply, status, resource);
  }

  @Get('ServiceProviderConfig')
  serviceProviderConfig(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    const r = this.request(request);
    this.send(reply, 200, serviceProviderConfig(r.baseUrl));
  }

  @Get('ResourceTypes')
  resourceTypes(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    this.send(reply, 200, list(resourceTypes(this.request(request).baseUrl)));
  }

  @Get('ResourceTypes/:id')
  resourceType(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string): void {
    const found = resourceTypes(this.request(request).baseUrl).find((t) => t.id === id);
    if (!found)
      this.send(reply, 404, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: '404',
        detail: 'ResourceType not found',
      });
    else this.send(reply, 200, found);
  }

  @Get('Schemas')
  schemas(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    this.send(reply, 200, list(schemaResources(this.request(request).baseUrl)));
  }

  @Get('Schemas/:id')
  schema(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string): void {
    const found = schemaResources(this.request(request).baseUrl).find((s) => s.id === id);
    if (!found)
      this.send(reply, 404, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: '404',
        detail: 'Schema not found',
      });
    else this.send(reply, 200, found);
  }

  /** RFC 7644 section 3.7: the operations in order, each reported; see `runBulk`. */
  @Post('Bulk')
  async bulk(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    this.send(reply, 200, await runBulk(this.scim, this.request(request), jsonBody(request)));
  }

  @Get('Users')
  async listUsers(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Query() query: Record<string, unknown>,
  ): Promise<void> {
    this.send(reply, 200, await this.scim.listUsers(this.request(request), listQuery(query)));
  }

  @Post('Users')
  async createUser(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const r = this.request(request);
    const resource = await this.scim.createUser(r, jsonBody(request));
    void reply.header('Location', `${r.baseUrl}/Users/${String(resource.id)}`);
    this.sendResource(reply, 201, resource);
  }

  @Get('Users/:id')
  async getUser(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string): Promise<void> {
    this.sendResource(reply, 200, await this.scim.getUser(this.request(request), id));
  }

  @Put('Users/:id')
  async replaceUser(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('id') id: string,
  ): Promise<void> {
    const r = this.request(request);
    this.sendResource(reply, 200, await this.scim.replaceUser(r, id, jsonBody(request), ifMatch(request)));
  }

  @Patch('Users/:id')
  async patchUser(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string): Promise<void> {
    const r = this.request(request);
    this.sendResource(reply, 200, await this.scim.patchUser(r, id, jsonBody(request), ifMatch(request)));
  }

  @Delete('Users/:id')
  async deleteUser(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string): Promise<void> {
    await this.scim.deleteUser(this.request(request), id, ifMatch(request));
    void reply.status(204).send();
  }

  @Get('Groups')
  async listGroups(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Query() query: Record<string, unknown>,
  ): Promise<void> {
    this.send(reply, 200, await this.scim.listGroups(this.request(request), listQuery(query)));
  }

  @Post('Groups')
  async createGroup(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const r = this.request(request);
    const resource = await this.scim.createGroup(r, jsonBody(request));
    void reply.header('Location', `${r.baseUrl}/Groups/${String(resource.id)}`);
    this.sendResource(reply, 201, resource);
  }

  @Get('Groups/:id')
  async getGroup(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ): Promise<void> {
    this.sendResource(reply, 200, await this.scim.getGroup(this.request(request), id, listQuery(query)));
  }

  @Put('Groups/:id')
  async replaceGroup(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('id') id: string,
  ): Promise<void> {
    const r = this.request(request);
    await this.scim.replaceGroup(r, id, jsonBody(request), ifMatch(request));
    this.sendResource(reply, 200, await this.scim.getGroup(r, id, {}));
  }

  /** 204 No Content, as Microsoft Entra ID advises for group PATCH (members lists can be large). */
  @Patch('Groups/:id')
  async patchGroup(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string): Promise<void> {
    const version = await this.scim.patchGroup(this.request(request), id, jsonBody(request), ifMatch(request));
    void reply.status(204).header('ETag', version).send();
  }

  @Delete('Groups/:id')
  async deleteGroup(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('id') id: string,
  ): Promise<void> {
    await this.scim.deleteGroup(this.request(request), id, ifMatch(request));
    void reply.status(204).send();
  }
}
