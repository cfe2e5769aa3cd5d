// LangChain.js's ChatOpenAI against a Tollgate-protected gateway: only the base URL and the key change.
//   GATEWAY_URL=http://127.0.0.1:8000 TOLLGATE_KEY=tgi_… node examples/langchain.mjs
import { ChatOpenAI } from '@langchain/openai';
import { exitWithReason, gatewayFromEnv } from './gateway-env.mjs';

const { baseURL, apiKey } = gatewayFromEnv('langchain.mjs');
const model = new ChatOpenAI({ model: 'demo-llm', apiKey, configuration: { baseURL }, maxRetries: 0 });
try {
  const reply = await model.invoke('Say hello');
  console.log(reply.content);
} catch (error) {
  exitWithReason(error);
}
