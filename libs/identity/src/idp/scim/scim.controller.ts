import { Controller, Delete, Get, Inject, Param, Patch, Post, Put, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RawBody, rawBodyOf } from '../raw-body';
import { type ListQuery, ScimService, type ScimRequest } from './scim.service';
import { invalidSyntax } from './scim-error';
import { SCIM_CONTENT_TYPE, ScimExceptionFilter } from './scim-exception.filter';
import { resourceTypes, schemaResources, serviceProviderConfig, LIST_RESPONSE_SCHEMA } from './schema';

export const SCIM_SERVICE = Symbol('SCIM_SERVICE');

/** The request body, parsed here so malformed JSON is a SCIM `invalidSyntax` error. */
function jsonBody(request: FastifyRequest): unknown {
  const raw = rawBodyOf(request);
  if (raw.length === 0) throw invalidSyntax('a JSON body is required');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalidSyntax('the body is not valid JSON');
  }
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
  };
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
@UseFilters(ScimExceptionFilter)
export class ScimController {
  constructor(@Inject(SCIM_SERVICE) private readonly scim: ScimService) {}

  private request(request: FastifyRequest): ScimRequest {
    const connector = this.scim.authenticate(request.headers.authorization);
    return { connector, baseUrl: `${request.protocol}://${request.host}/scim/v2`, requestId: String(request.id) };
  }

  private send(reply: FastifyReply, status: number, body: unknown): void {
    void reply.status(status).header('Content-Type', SCIM_CONTENT_TYPE).send(JSON.stringify(body));
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

  @Get('Users')
  async listUsers(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Query() query: Record<string, unknown>,
  ): Promise<void> {
    this.send(reply, 200, await this.scim.listUsers(this.request(request), listQuery(query)));
  }

  @Post('Users')
  @RawBody()
  async createUser(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const r = this.request(request);
    const resource = await this.scim.createUser(r, jsonBody(request));
    void reply.header('Location', `${r.baseUrl}/Users/${String(resource.id)}`);
    this.send(reply, 201, resource);
  }

  @Get('Users/:id')
  async getUser(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string): Promise<void> {
    this.send(reply, 200, await this.scim.getUser(this.request(request), id));
  }

  @Put('Users/:id')
  @RawBody()
  async replaceUser(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('id') id: string,
  ): Promise<void> {
    const r = this.request(request);
    this.send(reply, 200, await this.scim.replaceUser(r, id, jsonBody(request)));
  }

  @Patch('Users/:id')
  @RawBody()
  async patchUser(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string): Promise<void> {
    const r = this.request(request);
    this.send(reply, 200, await this.scim.patchUser(r, id, jsonBody(request)));
  }

  @Delete('Users/:id')
  async deleteUser(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string): Promise<void> {
    await this.scim.deleteUser(this.request(request), id);
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
  @RawBody()
  async createGroup(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const r = this.request(request);
    const resource = await this.scim.createGroup(r, jsonBody(request));
    void reply.header('Location', `${r.baseUrl}/Groups/${String(resource.id)}`);
    this.send(reply, 201, resource);
  }

  @Get('Groups/:id')
  async getGroup(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ): Promise<void> {
    this.send(reply, 200, await this.scim.getGroup(this.request(request), id, listQuery(query)));
  }

  @Put('Groups/:id')
  @RawBody()
  async replaceGroup(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('id') id: string,
  ): Promise<void> {
    const r = this.request(request);
    await this.scim.replaceGroup(r, id, jsonBody(request));
    this.send(reply, 200, await this.scim.getGroup(r, id, {}));
  }

  /** 204 No Content, as Microsoft Entra ID advises for group PATCH (members lists can be large). */
  @Patch('Groups/:id')
  @RawBody()
  async patchGroup(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string): Promise<void> {
    await this.scim.patchGroup(this.request(request), id, jsonBody(request));
    void reply.status(204).send();
  }

  @Delete('Groups/:id')
  async deleteGroup(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('id') id: string,
  ): Promise<void> {
    await this.scim.deleteGroup(this.request(request), id);
    void reply.status(204).send();
  }
}
