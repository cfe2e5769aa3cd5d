import { answerDifferences, runnableSteps, scriptOf, stepOutputs } from './runnable-docs';

const doc = [
  'Text.',
  '<!-- runnable -->',
  '',
  '```bash',
  '# prose before',
  'R=$(curl -s $T/v1/users \\',
  '  -d \'{}\'); echo "$R"',
  '# {"id":"usr_abc","name":"alice","createdAt":"2026-01-01T00:00:00.000Z"}',
  'ID=$(echo "$R" | jq -r .id)',
  '# prose after a command is not an answer',
  '```',
  '```bash',
  'not runnable',
  '```',
].join('\n');

describe('runnable docs: parsing', () => {
  it('takes the commands of marked blocks, continuation lines and documented answers', () => {
    expect(runnableSteps(doc)).toEqual([
      {
        command: 'R=$(curl -s $T/v1/users \\\n  -d \'{}\'); echo "$R"',
        line: 6,
        expected: ['{"id":"usr_abc","name":"alice","createdAt":"2026-01-01T00:00:00.000Z"}'],
      },
      { command: 'ID=$(echo "$R" | jq -r .id)', line: 9, expected: [] },
    ]);
  });

  it('splits a script run into each step output', () => {
    expect(scriptOf(runnableSteps(doc))).toContain("printf '\\n@@step 1 rc=%d@@\\n'");
    const outputs = stepOutputs('{"a":1}\n@@step 0 rc=0@@\n\n@@step 1 rc=3@@\n');
    expect(outputs.get(0)).toEqual({ rc: 0, text: '{"a":1}' });
    expect(outputs.get(1)).toEqual({ rc: 3, text: '' });
  });
});

describe('runnable docs: comparing answers', () => {
  const documented = ['{"id":"usr_abc","name":"alice","createdAt":"2026-01-01T00:00:00.000Z","tags":["x"]}'];

  it('accepts the same shape with other ids and times', () => {
    expect(
      answerDifferences(
        documented,
        '{"id":"usr_zzz","name":"alice","createdAt":"2027-05-05T10:00:00Z","tags":["a","b"]}',
      ),
    ).toEqual([]);
  });

  it('reports a missing or extra field, another type, another id kind, another name', () => {
    expect(answerDifferences(documented, '{"id":"prj_zzz","name":"bob","createdAt":5,"tags":["a"],"extra":1}')).toEqual(
      [
        '$.id: "prj_zzz", documented a usr_ id',
        '$.name: "bob", documented "alice"',
        '$.createdAt: 5, documented "2026-01-01T00:00:00.000Z"',
        '$.extra: not documented (1)',
      ],
    );
    expect(answerDifferences(documented, '{"name":"alice","createdAt":"2027-05-05T10:00:00Z","tags":[]}')).toEqual([
      '$.id: missing, documented "usr_abc"',
      '$.tags: no items, documented 1',
    ]);
  });

  it('compares a status line and headers, and refuses an undocumented error', () => {
    const expected = ['HTTP/1.1 401 Unauthorized', 'x-ext-auth-reason: key-revoked', '{"allowed":false}'];
    const output = 'HTTP/1.1 412 Precondition Failed\r\nX-Ext-Auth-Reason: key-expired\r\n\r\n{"allowed":false}';
    expect(answerDifferences(expected, output)).toEqual([
      'status 412, documented 401',
      'header x-ext-auth-reason: key-expired, documented key-revoked',
    ]);
    expect(answerDifferences([], '{"error":{"code":"version-conflict"}}')).toEqual([
      'undocumented error: {"error":{"code":"version-conflict"}}',
    ]);
    expect(answerDifferences(['{"a":'], '{}')).toEqual(['the documented answer is not JSON: {"a":']);
  });
});
