/** Ready-to-copy client code for a deployment: curl, the OpenAI Python SDK and LangChain. */

export interface SnippetTarget {
  host: string;
  pathPrefix: string;
  model: string;
}

/** The OpenAI-compatible base URL under the deployment's host and prefix. */
export function baseUrl({ host, pathPrefix }: SnippetTarget): string {
  const prefix = pathPrefix === '/' ? '' : pathPrefix.replace(/\/+$/, '');
  return `https://${host}${prefix}/v1`;
}

export function snippets(target: SnippetTarget): { label: string; code: string }[] {
  const base = baseUrl(target);
  const model = JSON.stringify(target.model);
  return [
    {
      label: 'curl',
      code: [
        `curl ${base}/chat/completions \\`,
        `  -H "Authorization: Bearer $TOLLGATE_KEY" \\`,
        `  -H "Content-Type: application/json" \\`,
        `  -d '{"model": ${model}, "messages": [{"role": "user", "content": "Hello"}]}'`,
      ].join('\n'),
    },
    {
      label: 'OpenAI SDK (Python)',
      code: [
        'import os',
        'from openai import OpenAI',
        '',
        `client = OpenAI(base_url="${base}", api_key=os.environ["TOLLGATE_KEY"])`,
        `reply = client.chat.completions.create(model=${model}, messages=[{"role": "user", "content": "Hello"}])`,
        'print(reply.choices[0].message.content)',
      ].join('\n'),
    },
    {
      label: 'LangChain (Python)',
      code: [
        'import os',
        'from langchain_openai import ChatOpenAI',
        '',
        `llm = ChatOpenAI(base_url="${base}", api_key=os.environ["TOLLGATE_KEY"], model=${model})`,
        'print(llm.invoke("Hello").content)',
      ].join('\n'),
    },
  ];
}
