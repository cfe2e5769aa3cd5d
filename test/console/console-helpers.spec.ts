import { daysFromNow, expiresSoon, listOf } from '../../console/src/format';
import { baseUrl, snippets } from '../../console/src/me/snippets';

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
