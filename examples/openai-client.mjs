// The official `openai` npm client, unchanged, pointed at a Tollgate-protected gateway: the Tollgate key is
// the client's API key (sent as `Authorization: Bearer`), the gateway asks Tollgate, the model answers.
//   GATEWAY_URL=http://127.0.0.1:8000 TOLLGATE_KEY=tgi_… node examples/openai-client.mjs
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: `${process.env.GATEWAY_URL}/v1`,
  apiKey: process.env.TOLLGATE_KEY,
  maxRetries: 0,
});
try {
  const completion = await client.chat.completions.create({
    model: 'demo-llm',
    messages: [{ role: 'user', content: 'Say hello' }],
  });
  console.log(completion.choices[0].message.content);
} catch (err) {
  // A refusal comes back as the gateway's status with Tollgate's reason.
  console.error(`refused: ${err.status} ${err.headers?.get?.('x-ext-auth-reason') ?? ''}`.trim());
  process.exit(1);
}
