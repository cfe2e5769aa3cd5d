// LangChain.js's ChatOpenAI against a Tollgate-protected gateway: only the base URL and the key change.
//   GATEWAY_URL=http://127.0.0.1:8000 TOLLGATE_KEY=tgi_… node examples/langchain.mjs
import { ChatOpenAI } from '@langchain/openai';

const model = new ChatOpenAI({
  model: 'demo-llm',
  apiKey: process.env.TOLLGATE_KEY,
  configuration: { baseURL: `${process.env.GATEWAY_URL}/v1` },
  maxRetries: 0,
});
const reply = await model.invoke('Say hello');
console.log(reply.content);
