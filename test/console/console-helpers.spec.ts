import { daysFromNow, expiresSoon, listOf } from '../../console/src/format';
import { baseUrl, snippets } from '../../console/src/me/snippets';
import { probeSentence } from '../../console/src/projects/probe';

// The console's pure helpers (the pages themselves are tested in a real browser: test/e2e/console.e2e-spec.ts).
describe('console: client snippets for a deployment', () => {
  it('puts the OpenAI-compatible base under the host and the path prefix', () => {
    expect(baseUrl({ host: 'llama.models.example.com', pathPrefix: '/', model: 'm' })).toBe(
      'https://llama.models.example.com/v1',
    );
    expect(baseUrl({ host: 'models.example.com', pathPrefix: '/fraud/', model: 'm' })).toBe(
      'https://models.example.com/fraud/v1',
    );
  });

  it('gives curl, OpenAI SDK and LangChain code that reads the key from the environment, never embedding one', () => {
    const list = snippets({ host: 'h.example.com', pathPrefix: '/', model: 'demo "llm"' });
    expect(list.map((s) => s.label)).toEqual(['curl', 'OpenAI SDK (Python)', 'LangChain (Python)']);
    for (const { code } of list) {
      expect(code).toContain('TOLLGATE_KEY');
      expect(code).not.toMatch(/tg[ima]_/);
    }
    expect(list[0]!.code).toContain('curl https://h.example.com/v1/chat/completions');
    // The model name is quoted as JSON, so a quote in it cannot break out of the string.
    expect(list[1]!.code).toContain('model="demo \\"llm\\""');
  });
});

describe('console: dates and lists', () => {
  const now = Date.parse('2026-12-01T00:00:00.000Z');

  it('highlights keys expiring within 7 days, not expired or later ones', () => {
    expect(expiresSoon('2026-12-07T23:00:00.000Z', now)).toBe(true);
    expect(expiresSoon('2026-12-09T00:00:00.000Z', now)).toBe(false);
    expect(expiresSoon('2026-11-30T00:00:00.000Z', now)).toBe(false);
    expect(expiresSoon(null, now)).toBe(false);
  });

  it('turns a lifetime in days into an expiry, and comma or newline text into a list', () => {
    expect(daysFromNow(30, now)).toBe('2026-12-31T00:00:00.000Z');
    expect(listOf(' a.example.com, b.example.com\n\n,c ')).toEqual(['a.example.com', 'b.example.com', 'c']);
  });
});

describe("console: the Test panel's model status (the deployment probe)", () => {
  const answered = (status: number) => ({ kind: 'answered' as const, answer: { status, latencyMs: 12 } });
  it('says what the model answered when allowed, and whether a refusal matched the decision', () => {
    expect(probeSentence(answered(200), { allowed: true, status: 200 })).toBe('Model answered 200 in 12 ms.');
    expect(probeSentence(answered(401), { allowed: false, status: 401 })).toBe(
      'The gateway refused with 401 in 12 ms, as decided.',
    );
    // A gateway that serves what Tollgate refused does not ask Tollgate: say so.
    expect(probeSentence(answered(200), { allowed: false, status: 403 })).toMatch(
      /answered 200 in 12 ms, not the decided 403: check that it asks Tollgate/,
    );
  });

  it("shows the API's words when there is no gateway or it failed", () => {
    const decision = { allowed: true, status: 200 };
    expect(probeSentence({ kind: 'not-configured', message: 'no gateway is configured' }, decision)).toBe(
      'No model status: no gateway is configured',
    );
    expect(probeSentence({ kind: 'failed', message: 'the gateway did not answer in time' }, decision)).toBe(
      'The gateway probe failed: the gateway did not answer in time',
    );
  });
});
