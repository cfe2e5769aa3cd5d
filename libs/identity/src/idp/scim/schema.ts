/**
 * The SCIM schemas Tollgate serves (RFC 7643 sections 4 and 8.7): User (with the enterprise extension) and
 * Group. They drive `/Schemas`, and the PATCH engine reads them for canonical attribute names, which
 * attributes are multi-valued, boolean or read-only.
 */
import { BODY_LIMIT_BYTES } from '@tollgate/platform';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export type AttributeType =
  'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';

export interface AttributeSpec {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  subAttributes?: AttributeSpec[];
  referenceTypes?: string[];
}

export interface SchemaSpec {
  id: string;
  name: string;
  description: string;
  attributes: AttributeSpec[];
}

type Options = Partial<Omit<AttributeSpec, 'name' | 'type' | 'description' | 'subAttributes'>>;

const attr = (
  name: string,
  type: AttributeType,
  description: string,
  options: Options = {},
  subAttributes?: AttributeSpec[],
): AttributeSpec => ({
  name,
  type,
  multiValued: false,
  description,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...options,
  ...(subAttributes ? { subAttributes } : {}),
});

const multiValued = (name: string, description: string, subs: AttributeSpec[], options: Options = {}): AttributeSpec =>
  attr(name, 'complex', description, { multiValued: true, ...options }, subs);

const typed = (kinds: string) => [
  attr('value', 'string', 'The value'),
  attr('display', 'string', 'A human-readable name'),
  attr('type', 'string', `A label: ${kinds}`),
  attr('primary', 'boolean', 'The primary value'),
];

const idAttr = attr('id', 'string', 'Tollgate’s identifier of the resource', {
  caseExact: true,
  mutability: 'readOnly',
  returned: 'always',
  uniqueness: 'server',
});
const externalIdAttr = attr(
  'externalId',
  'string',
  'The IdP’s identifier; for users, the OIDC `sub` shared with sign-in and webhooks',
  { caseExact: true },
);

export const USER_SCHEMA_SPEC: SchemaSpec = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    attr('userName', 'string', 'Unique identifier for the User (unique per connector, case-insensitive)', {
      required: true,
      uniqueness: 'server',
    }),
    attr('name', 'complex', 'The components of the user’s name', {}, [
      attr('formatted', 'string', 'Full name'),
      attr('familyName', 'string', 'Family name'),
      attr('givenName', 'string', 'Given name'),
      attr('middleName', 'string', 'Middle name'),
      attr('honorificPrefix', 'string', 'Honorific prefix'),
      attr('honorificSuffix', 'string', 'Honorific suffix'),
    ]),
    attr('displayName', 'string', 'The name displayed to end users'),
    attr('nickName', 'string', 'Casual name'),
    attr('profileUrl', 'reference', 'Profile URL', { referenceTypes: ['external'] }),
    attr('title', 'string', 'Title'),
    attr('userType', 'string', 'Relationship to the organization'),
    attr('preferredLanguage', 'string', 'Preferred language'),
    attr('locale', 'string', 'Locale'),
    attr('timezone', 'string', 'Time zone'),
    attr('active', 'boolean', 'false deprovisions the user in Tollgate (deactivated, denied everywhere, keys revoked)'),
    attr('password', 'string', 'Never stored', { mutability: 'writeOnly', returned: 'never' }),
    multiValued('emails', 'Email addresses', typed('work, home, other')),
    multiValued('phoneNumbers', 'Phone numbers', typed('work, home, mobile, fax, pager, other')),
    multiValued('ims', 'Instant messaging addresses', typed('aim, gtalk, icq, xmpp, msn, skype, qq, yahoo')),
    multiValued('photos', 'Photos', typed('photo, thumbnail')),
    multiValued('addresses', 'Addresses', [
      attr('formatted', 'string', 'Full address'),
      attr('streetAddress', 'string', 'Street'),
      attr('locality', 'string', 'City'),
      attr('region', 'string', 'State or region'),
      attr('postalCode', 'string', 'Postal code'),
      attr('country', 'string', 'Country'),
      attr('type', 'string', 'work, home, other'),
      attr('primary', 'boolean', 'The primary address'),
    ]),
    multiValued(
      'groups',
      'The groups of the user (read-only: change them through Groups)',
      [
        attr('value', 'string', 'Group id', { mutability: 'readOnly' }),
        attr('$ref', 'reference', 'Group URI', { mutability: 'readOnly' }),
        attr('display', 'string', 'Group name', { mutability: 'readOnly' }),
        attr('type', 'string', 'direct', { mutability: 'readOnly' }),
      ],
      { mutability: 'readOnly' },
    ),
    multiValued('entitlements', 'Entitlements', typed('any')),
    multiValued('roles', 'Roles', typed('any')),
    multiValued('x509Certificates', 'Certificates', typed('any')),
  ],
};

export const ENTERPRISE_USER_SCHEMA_SPEC: SchemaSpec = {
  id: ENTERPRISE_USER_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    attr('employeeNumber', 'string', 'Employee number'),
    attr('costCenter', 'string', 'Cost center'),
    attr('organization', 'string', 'Organization'),
    attr('division', 'string', 'Division'),
    attr('department', 'string', 'Department'),
    attr('manager', 'complex', 'The user’s manager', {}, [
      attr('value', 'string', 'Manager id'),
      attr('$ref', 'reference', 'Manager URI'),
      attr('displayName', 'string', 'Manager name', { mutability: 'readOnly' }),
    ]),
  ],
};

export const GROUP_SCHEMA_SPEC: SchemaSpec = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group: its displayName is the Tollgate group name (exact, case-sensitive) granted on deployments',
  attributes: [
    attr('displayName', 'string', 'The group name as deployments grant it (case-sensitive, unique per connector)', {
      required: true,
      caseExact: true,
      uniqueness: 'server',
    }),
    multiValued('members', 'The users of this connector in the group', [
      attr('value', 'string', 'User id', { caseExact: true, mutability: 'immutable' }),
      attr('$ref', 'reference', 'User URI', { mutability: 'immutable' }),
      attr('display', 'string', 'User name', { mutability: 'readOnly' }),
      attr('type', 'string', 'User', { mutability: 'immutable' }),
    ]),
  ],
};

/** How the PATCH engine sees a resource type: its core attributes, its extensions, its read-only names. */
export interface ResourceShape {
  core: AttributeSpec[];
  extensions: Map<string, AttributeSpec[]>;
}

const common = [idAttr, externalIdAttr];
export const USER_SHAPE: ResourceShape = {
  core: [...common, ...USER_SCHEMA_SPEC.attributes],
  extensions: new Map([[ENTERPRISE_USER_SCHEMA.toLowerCase(), ENTERPRISE_USER_SCHEMA_SPEC.attributes]]),
};
export const GROUP_SHAPE: ResourceShape = { core: [...common, ...GROUP_SCHEMA_SPEC.attributes], extensions: new Map() };

export function findSpec(list: readonly AttributeSpec[] | undefined, name: string): AttributeSpec | undefined {
  const lower = name.toLowerCase();
  return list?.find((a) => a.name.toLowerCase() === lower);
}

/** `/Schemas` resources (with `meta`). */
export function schemaResources(baseUrl: string): Record<string, unknown>[] {
  const withCommon = (spec: SchemaSpec) => ({
    schemas: [SCHEMA_SCHEMA],
    id: spec.id,
    name: spec.name,
    description: spec.description,
    attributes: spec.attributes.filter((a) => a.name !== 'password'),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${spec.id}` },
  });
  return [withCommon(USER_SCHEMA_SPEC), withCommon(ENTERPRISE_USER_SCHEMA_SPEC), withCommon(GROUP_SCHEMA_SPEC)];
}

export function resourceTypes(baseUrl: string): Record<string, unknown>[] {
  return [
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: USER_SCHEMA,
      schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/User` },
    },
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Group',
      schema: GROUP_SCHEMA,
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/Group` },
    },
  ];
}

export const MAX_RESULTS = 1000;
/** Operations in one BulkRequest; its payload is limited like every body (1 MiB). */
export const BULK_MAX_OPERATIONS = 100;

/** `baseUrl` ends in /scim/v2; the documentation is this instance's OpenAPI UI, at the scim tag. */
export function serviceProviderConfig(baseUrl: string): Record<string, unknown> {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    documentationUri: `${baseUrl.replace(/\/scim\/v2$/, '')}/docs#/scim`,
    patch: { supported: true },
    bulk: { supported: true, maxOperations: BULK_MAX_OPERATIONS, maxPayloadSize: BODY_LIMIT_BYTES },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A bearer token whose SHA-256 (hex) is the connector’s scimBearerTokenHash',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}
