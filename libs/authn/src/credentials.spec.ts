import { extractCredentials, looksLikeCompactJws, parseAccessKey, parseAuthorization } from './credentials';
import { generateKey } from './keys';

const tgi = generateKey('inference');
const tgm = generateKey('management');
const tga = generateKey('access');
const badKey = `${tgi.slice(0, -1)}${tgi.endsWith('0') ? '1' : '0'}`;
const jwt = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
const unsignedJwt = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.';

describe('parseAuthorization', () => {
  it.each<[string, string | string[] | null | undefined, object]>([
    ['absent', undefined, { type: 'none' }],
    ['null', null, { type: 'none' }],
    ['empty', '', { type: 'none' }],
    ['blank', '  \t ', { type: 'none' }],
    ['no values', [], { type: 'none' }],
    ['Bearer inference key', `Bearer ${tgi}`, { type: 'key', kind: 'inference', key: tgi, scheme: 'bearer' }],
    ['ApiKey inference key', `ApiKey ${tgi}`, { type: 'key', kind: 'inference', key: tgi, scheme: 'apikey' }],
    [
      'scheme case-insensitive: bearer',
      `bearer ${tgm}`,
      { type: 'key', kind: 'management', key: tgm, scheme: 'bearer' },
    ],
    ['scheme case-insensitive: BEARER', `BEARER ${tgi}`, { type: 'key', kind: 'inference', scheme: 'bearer' }],
    ['scheme case-insensitive: aPiKeY', `aPiKeY ${tgi}`, { type: 'key', kind: 'inference', scheme: 'apikey' }],
    ['surrounding whitespace and several spaces', `  Bearer   ${tgi}  `, { type: 'key', key: tgi }],
    ['tab separator', `Bearer\t${tgi}`, { type: 'key', key: tgi }],
    ['one value in an array', [`Bearer ${tgi}`], { type: 'key', key: tgi }],
    ['access key under Bearer (kind by prefix)', `Bearer ${tga}`, { type: 'key', kind: 'access', key: tga }],
    ['JWT under Bearer', `Bearer ${jwt}`, { type: 'jwt', token: jwt }],
    ['JWT with empty signature is still a JWT (rejected by verification)', `Bearer ${unsignedJwt}`, { type: 'jwt' }],
    [
      'JWT under ApiKey',
      `ApiKey ${jwt}`,
      { type: 'malformed', reason: 'credential-malformed', detail: 'not-a-key-or-jwt' },
    ],
    ['bad checksum', `Bearer ${badKey}`, { type: 'malformed', reason: 'credential-malformed', detail: 'bad-key' }],
    ['Tollgate prefix, short', `Bearer tgi_abc`, { type: 'malformed', detail: 'bad-key' }],
    ['Tollgate prefix, bad alphabet', `ApiKey tga_${'-'.repeat(38)}`, { type: 'malformed', detail: 'bad-key' }],
    [
      'random string under Bearer',
      'Bearer some-opaque-token',
      { type: 'malformed', detail: 'not-a-key-or-jwt', opaque: 'some-opaque-token' },
    ],
    ['case matters in the key prefix', `Bearer TGI_${tgi.slice(4)}`, { type: 'malformed', detail: 'not-a-key-or-jwt' }],
    ['JWE (five parts)', 'Bearer a.b.c.d.e', { type: 'malformed', detail: 'not-a-key-or-jwt' }],
    ['two parts', 'Bearer a.b', { type: 'malformed', detail: 'not-a-key-or-jwt' }],
    ['unknown scheme Basic', 'Basic dXNlcjpwYXNz', { type: 'malformed', detail: 'unknown-scheme' }],
    ['unknown scheme Token', `Token ${tgi}`, { type: 'malformed', detail: 'unknown-scheme' }],
    ['Digest with params', 'Digest username="a", realm="b"', { type: 'malformed', detail: 'unknown-scheme' }],
    ['bare key without scheme', tgi, { type: 'malformed', detail: 'unknown-scheme' }],
    ['scheme without credentials', 'Bearer', { type: 'malformed', detail: 'no-credentials' }],
    ['scheme and spaces', 'Bearer   ', { type: 'malformed', detail: 'no-credentials' }],
    ['two credentials', `Bearer ${tgi} ${tgi}`, { type: 'malformed', detail: 'not-a-key-or-jwt' }],
    ['non-ASCII credentials', 'Bearer tökén', { type: 'malformed', detail: 'not-a-key-or-jwt' }],
    ['two headers', [`Bearer ${tgi}`, `Bearer ${tgm}`], { type: 'malformed', detail: 'multiple-headers' }],
    ['huge', `Bearer ${'a'.repeat(20_000)}`, { type: 'malformed', detail: 'too-long' }],
  ])('%s', (_name, header, expected) => {
    expect(parseAuthorization(header)).toMatchObject(expected);
  });

  it('does not hand out opaque credentials for unknown schemes or Tollgate-prefixed strings', () => {
    expect(parseAuthorization('Basic abc')).not.toHaveProperty('opaque');
    expect(parseAuthorization(`Bearer ${badKey}`)).not.toHaveProperty('opaque');
  });
});

describe('parseAccessKey', () => {
  it.each<[string, string | string[] | null | undefined, object]>([
    ['absent', undefined, { type: 'none' }],
    ['empty', '', { type: 'none' }],
    ['an access key', tga, { type: 'key', key: tga }],
    ['with surrounding spaces', ` ${tga} `, { type: 'key', key: tga }],
    ['an inference key is never an access key', tgi, { type: 'invalid', reason: 'access-key-invalid' }],
    ['a management key is never an access key', tgm, { type: 'invalid', reason: 'access-key-invalid' }],
    [
      'bad checksum',
      `${tga.slice(0, -1)}${tga.endsWith('0') ? '1' : '0'}`,
      { type: 'malformed', reason: 'credential-malformed' },
    ],
    ['not a key', 'hunter2', { type: 'malformed', reason: 'credential-malformed' }],
    ['with a scheme', `Bearer ${tga}`, { type: 'malformed', reason: 'credential-malformed' }],
    ['two values', [tga, tga], { type: 'malformed', reason: 'credential-malformed' }],
  ])('%s', (_name, value, expected) => {
    expect(parseAccessKey(value)).toEqual(expected);
  });
});

describe('extractCredentials', () => {
  it('nothing sent is missing', () => {
    expect(extractCredentials({})).toEqual({
      authorization: { type: 'none' },
      accessKey: { type: 'none' },
      missing: true,
    });
    expect(extractCredentials({ authorization: '', accessKey: '' }).missing).toBe(true);
  });

  it('either credential makes it not missing', () => {
    expect(extractCredentials({ accessKey: tga }).missing).toBe(false);
    expect(extractCredentials({ authorization: `Bearer ${jwt}` }).missing).toBe(false);
    expect(extractCredentials({ authorization: 'Basic x' }).missing).toBe(false);
  });

  it('carries both when both are sent', () => {
    expect(extractCredentials({ authorization: `ApiKey ${tgi}`, accessKey: tga })).toEqual({
      authorization: { type: 'key', kind: 'inference', key: tgi, scheme: 'apikey' },
      accessKey: { type: 'key', key: tga },
      missing: false,
    });
  });
});

describe('looksLikeCompactJws', () => {
  it.each([
    [jwt, true],
    [unsignedJwt, true],
    ['a.b', false],
    ['a..c', false],
    ['a.b.c=', false],
    [tgi, false],
  ])('%s -> %s', (s, expected) => {
    expect(looksLikeCompactJws(s)).toBe(expected);
  });
});
