import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in model server for examples and end-to-end tests: the OpenAI-compatible routes vLLM serves
 * (`/v1/models`, `/v1/completions`, `/v1/chat/completions`) and a classic `/predict`, answering canned text.
 * It echoes the `X-Auth-Subject` the gateway passed on, so a test can see who the authorizer let through.
 * It does no authentication of its own: it is meant to sit behind a gateway that asks Tollgate.
 */
export const DEMO_MODEL_NAME = 'demo-llm';

const MAX_BODY = 1024 * 1024;

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(Object.assign(new Error('body too large'), { status: 413 }));
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text ? JSON.parse(text) : {});
      } catch {
        reject(Object.assign(new Error('body is not valid JSON'), { status: 400 }));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const usage = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };
const created = () => Math.floor(Date.now() / 1000);

function subjectOf(req: IncomingMessage): string | null {
  const value = req.headers['x-auth-subject'];
  return typeof value === 'string' ? value : null;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/v1/models') {
    return send(res, 200, {
      object: 'list',
      data: [{ id: DEMO_MODEL_NAME, object: 'model', created: 0, owned_by: 'tollgate-demo' }],
    });
  }
  if (req.method === 'GET' && path === '/health') return send(res, 200, { status: 'ok' });
  if (req.method !== 'POST') return send(res, 404, { error: { message: 'not found', type: 'invalid_request_error' } });
  const body = (await readJson(req)) as Record<string, unknown>;
  const model = typeof body.model === 'string' ? body.model : DEMO_MODEL_NAME;
  const subject = subjectOf(req);
  switch (path) {
    case '/v1/completions':
      return send(res, 200, {
        id: `cmpl-demo-${Date.now()}`,
        object: 'text_completion',
        created: created(),
        model,
        choices: [{ index: 0, text: ' Hello from the demo model.', finish_reason: 'stop', logprobs: null }],
        usage,
        tollgate_subject: subject,
      });
    case '/v1/chat/completions':
      return send(res, 200, {
        id: `chatcmpl-demo-${Date.now()}`,
        object: 'chat.completion',
        created: created(),
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'Hello from the demo model.' },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage,
        tollgate_subject: subject,
      });
    case '/predict': {
      const instances = Array.isArray(body.instances) ? body.instances : [];
      return send(res, 200, {
        predictions: instances.map((_, i) => ({ label: i % 2 === 0 ? 'cat' : 'dog', score: 0.9 })),
        subject,
      });
    }
    default:
      return send(res, 404, { error: { message: 'not found', type: 'invalid_request_error' } });
  }
}

export async function startDemoModel(
  port = 0,
  host = '127.0.0.1',
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: { status?: number; message?: string }) =>
      send(res, err.status ?? 500, {
        error: { message: err.status ? err.message : 'internal error', type: 'invalid_request_error' },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
