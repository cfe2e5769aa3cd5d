// The official `openai` npm client, unchanged, pointed at a Tollgate-protected gateway: the Tollgate key is
// the client's API key (sent as `Authorization: Bearer`), the gateway asks Tollgate, the model answers.
//   GATEWAY_URL=http://127.0.0.1:8000 TOLLGATE_KEY=tgi_… node examples/openai-client.mjs
import OpenAI from 'openai';
import { exitWithReason, gatewayFromEnv } from './gateway-env.mjs';

const client = new OpenAI({ ...gatewayFromEnv('openai-client.mjs'), maxRetries: 0 });
try {
  const completion = await client.chat.completions.create({
    model: 'demo-llm',
    messages: [{ role: 'user', content: 'Say hello' }],
  });
  console.log(completion.choices[0].message.content);
} catch (error) {
  // A refusal comes back as the gateway's status with Tollgate's reason.
  exitWithReason(error);
}
