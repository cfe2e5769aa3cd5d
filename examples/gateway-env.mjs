// Shared by the Node examples: the gateway and the key from the environment (a clear message when one is
// missing), and a refusal or an unreachable gateway told in one line instead of a stack trace.
const USAGE = 'GATEWAY_URL=http://127.0.0.1:8000 TOLLGATE_KEY=tgi_… node examples/';

/** `{ baseURL, apiKey }` for an OpenAI-compatible client; exits 2 naming what is missing. */
export function gatewayFromEnv(script) {
  const missing = ['GATEWAY_URL', 'TOLLGATE_KEY'].filter((name) => !process.env[name]?.trim());
  if (missing.length > 0) {
    console.error(`${script}: set ${missing.join(' and ')}, for example:\n  ${USAGE}${script}`);
    process.exit(2);
  }
  return { baseURL: `${process.env.GATEWAY_URL.replace(/\/+$/, '')}/v1`, apiKey: process.env.TOLLGATE_KEY };
}

/** Prints why the call failed (the gateway's status and Tollgate's reason, or the network error); exits 1. */
export function exitWithReason(error) {
  const status = error?.status ?? error?.response?.status;
  if (typeof status === 'number') {
    const reason = error.headers?.get?.('x-ext-auth-reason') ?? error.headers?.['x-ext-auth-reason'] ?? '';
    console.error(`refused: ${status} ${reason}`.trim());
  } else {
    let cause = error;
    while (cause?.cause) cause = cause.cause; // the network error under the client's wrapper
    console.error(`cannot reach ${process.env.GATEWAY_URL}: ${cause?.message ?? cause}`);
  }
  process.exit(1);
}
