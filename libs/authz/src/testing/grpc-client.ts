/** A real @grpc/grpc-js client of Envoy's ext_authz service, and Envoy-shaped requests (tests and benchmark). */
import { credentials, type Client, makeClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadExtAuthzService } from '../doors/ext-authz.grpc';
import type { CheckRequest, CheckResponse } from '../doors/ext-authz';

export interface ExtAuthzClient {
  check(request: CheckRequest): Promise<CheckResponse>;
  close(): void;
}

export async function extAuthzClient(address: string): Promise<ExtAuthzClient> {
  const service = loadExtAuthzService();
  const Ctor = makeClientConstructor(service, 'envoy.service.auth.v3.Authorization');
  const client = new Ctor(address, credentials.createInsecure()) as unknown as Client & {
    Check(request: CheckRequest, callback: (error: ServiceError | null, response: CheckResponse) => void): void;
  };
  return {
    check: (request) =>
      new Promise((resolve, reject) =>
        client.Check(request, (error, response) => (error ? reject(error) : resolve(response))),
      ),
    close: () => client.close(),
  };
}

/** A `CheckRequest` as Envoy's ext_authz HTTP filter sends it: peers, and the request's HTTP attributes. */
export function envoyCheckRequest(options: {
  host: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  requestId?: string;
}): CheckRequest {
  const method = options.method ?? 'POST';
  const requestId = options.requestId ?? `envoy-${Math.random().toString(36).slice(2)}`;
  const headers: Record<string, string> = {
    ':authority': options.host,
    ':method': method,
    ':path': options.path,
    ':scheme': 'https',
    'user-agent': 'curl/8.5.0',
    'x-forwarded-proto': 'https',
    'x-request-id': requestId,
    ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  return {
    attributes: {
      source: { address: { socket_address: { address: '10.0.0.7', port_value: 51234 } } },
      destination: { address: { socket_address: { address: '10.0.0.2', port_value: 8443 } } },
      request: {
        time: { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 },
        http: {
          id: requestId,
          method,
          headers,
          path: options.path,
          host: options.host,
          scheme: 'https',
          protocol: 'HTTP/1.1',
          size: '0',
        },
      },
    },
  } as CheckRequest;
}
