import { describe, expect, it } from '@jest/globals';
import { ApiError } from '@tollgate/contracts';
import { authorizeInput, explainRequested } from './authorize';
import { extAuthzInput, extAuthzResponse, RpcCode } from './ext-authz';
import { forwardAuthInput, forwardAuthResponse } from './forward-auth';
import { pathOfUri } from './uri';

const KEY = 'tgi_0123456789abcdefghijABCDEFGHIJ01xxxxxx';

describe('pathOfUri', () => {
  it.each([
    ['/v1/chat?api_key=tgi_secret', '/v1/chat'],
    ['/v1/chat#frag', '/v1/chat'],
    ['https://models.example.com/v1/x?y=1', '/v1/x'],
    ['https://models.example.com', '/'],
    ['?key=abc', '/'],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %j (a credential in a query string never reaches the check)', (uri, path) => {
    expect(pathOfUri(uri)).toBe(path);
  });
});

describe('POST /v1/authorize input', () => {
  it('takes the body fields and drops the query string of the path', () => {
    expect(
      authorizeInput(
        {
          host: 'm.example.com',
          path: '/v1/x?key=secret',
          authorization: `Bearer ${KEY}`,
          accessKey: 'tga_x',
          method: 'POST',
        },
        false,
      ),
    ).toEqual({
      host: 'm.example.com',
      path: '/v1/x',
      authorization: `Bearer ${KEY}`,
      accessKey: 'tga_x',
      method: 'POST',
      explain: false,
    });
  });

  it('accepts a deployment id alone, and nulls as absent', () => {
    expect(authorizeInput({ deployment: 'dep_1', authorization: null }, true)).toEqual({
      deployment: 'dep_1',
      explain: true,
    });
  });

  it.each([
    ['neither deployment nor host', { path: '/x' }, 'deployment'],
    ['a wrong type', { deployment: 42 }, 'deployment'],
    ['an unknown field', { deployment: 'dep_1', apiKey: 'x' }, 'apiKey'],
    ['not an object', 'deployment=dep_1', 'body'],
    ['no body', undefined, 'body'],
  ])('refuses %s with 400 validation-failed naming the field', (_what, body, field) => {
    let error: unknown;
    try {
      authorizeInput(body, false);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).code).toBe('validation-failed');
    expect((error as ApiError).details?.map((d) => d.field)).toContain(field);
  });

  it('reads explain=true from the query', () => {
    expect(explainRequested({ explain: 'true' })).toBe(true);
    expect(explainRequested({ explain: 'false' })).toBe(false);
    expect(explainRequested({})).toBe(false);
  });
});

describe('GET /v1/forward-auth input', () => {
  it('prefers X-Forwarded-Host and X-Original-URI, without the query string', () => {
    expect(
      forwardAuthInput({
        host: 'authz.internal:8080',
        'x-forwarded-host': 'models.example.com, proxy.example.com',
        'x-original-uri': '/v1/chat?api_key=secret',
        'x-forwarded-uri': '/ignored',
        authorization: `Bearer ${KEY}`,
        'x-model-access-key': 'tga_k',
        'x-forwarded-method': 'POST',
      }),
    ).toEqual({
      host: 'models.example.com',
      path: '/v1/chat',
      authorization: `Bearer ${KEY}`,
      accessKey: 'tga_k',
      method: 'POST',
    });
  });

  it('falls back to Host and X-Forwarded-Uri, and to / without any URI', () => {
    expect(forwardAuthInput({ host: 'm.example.com', 'x-forwarded-uri': '/a/b?x' })).toEqual({
      host: 'm.example.com',
      path: '/a/b',
    });
    expect(forwardAuthInput({ host: 'm.example.com' })).toEqual({ host: 'm.example.com', path: '/' });
  });

  it('sees a repeated Authorization header that Node would silently drop', () => {
    const input = forwardAuthInput({ host: 'h', authorization: 'Bearer a' }, [
      'Host',
      'h',
      'Authorization',
      'Bearer a',
      'authorization',
      'Bearer b',
    ]);
    expect(input.authorization).toEqual(['Bearer a', 'Bearer b']);
  });
});

describe('forward-auth response', () => {
  it('answers an unknown deployment with 403, keeping the reason', () => {
    const r = forwardAuthResponse(
      { allowed: false, status: 404, reason: 'deployment-unknown' },
      { 'X-Ext-Auth-Reason': 'deployment-unknown' },
      'no model deployment matches',
    );
    expect(r.status).toBe(403);
    expect(r.body).toEqual({
      allowed: false,
      status: 403,
      reason: 'deployment-unknown',
      message: 'no model deployment matches',
    });
    expect(r.headers).toEqual({ 'X-Ext-Auth-Reason': 'deployment-unknown' });
  });

  it.each([200, 401, 403, 503])('answers %i with that status', (status) => {
    expect(forwardAuthResponse({ allowed: status === 200, status, reason: 'r' }, {}, 'm').status).toBe(status);
  });
});

describe('ext_authz mapping', () => {
  const request = (http: object) => ({ attributes: { request: { http } } });

  it('reads host, path (without query) and the lower-case credential headers', () => {
    expect(
      extAuthzInput(
        request({
          host: 'm.example.com',
          path: '/v1/x?key=1',
          method: 'POST',
          headers: { authorization: `ApiKey ${KEY}`, 'x-model-access-key': 'tga_k', ':authority': 'm.example.com' },
        }),
      ),
    ).toEqual({
      host: 'm.example.com',
      path: '/v1/x',
      method: 'POST',
      authorization: `ApiKey ${KEY}`,
      accessKey: 'tga_k',
    });
  });

  it('reads header_map when Envoy sends raw headers', () => {
    const input = extAuthzInput(
      request({
        host: 'h',
        path: '/',
        header_map: {
          headers: [
            { key: 'authorization', raw_value: Buffer.from('Bearer x') },
            { key: 'x-model-access-key', value: 'tga_k' },
          ],
        },
      }),
    );
    expect(input).toMatchObject({ authorization: 'Bearer x', accessKey: 'tga_k' });
  });

  it('maps an allowed decision to OkHttpResponse with the X-Auth-* headers and removes forged ones', () => {
    const response = extAuthzResponse(
      { allowed: true, status: 200, reason: 'collaborator' },
      { 'X-Auth-Subject': 'usr_1', 'X-Auth-Deployment': 'dep_1', 'X-Auth-Key-Id': 'key_1' },
      'allowed',
    );
    expect(response.status.code).toBe(RpcCode.OK);
    expect(response.denied_response).toBeUndefined();
    expect(response.ok_response!.headers).toEqual([
      { header: { key: 'X-Auth-Subject', value: 'usr_1' }, append_action: 2 },
      { header: { key: 'X-Auth-Deployment', value: 'dep_1' }, append_action: 2 },
      { header: { key: 'X-Auth-Key-Id', value: 'key_1' }, append_action: 2 },
    ]);
    expect(response.ok_response!.headers_to_remove).toEqual(['x-auth-issuer']);
  });

  it.each([
    [401, RpcCode.UNAUTHENTICATED],
    [403, RpcCode.PERMISSION_DENIED],
    [404, RpcCode.NOT_FOUND],
    [503, RpcCode.UNAVAILABLE],
  ])('maps a %i decision to DeniedHttpResponse with that HttpStatusCode and rpc code %i', (status, code) => {
    const response = extAuthzResponse(
      { allowed: false, status, reason: 'some-reason' },
      { 'X-Ext-Auth-Reason': 'some-reason' },
      'why',
    );
    expect(response.ok_response).toBeUndefined();
    expect(response.status).toEqual({ code, message: 'some-reason' });
    expect(response.denied_response!.status).toEqual({ code: status });
    expect(response.denied_response!.headers).toContainEqual({
      header: { key: 'X-Ext-Auth-Reason', value: 'some-reason' },
      append_action: 2,
    });
    expect(JSON.parse(response.denied_response!.body)).toEqual({
      allowed: false,
      status,
      reason: 'some-reason',
      message: 'why',
    });
  });
});
