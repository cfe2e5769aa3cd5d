import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// The services' stdout is buffered (64 KiB or 200 ms) so the decision log costs no write per request: a line
// must still arrive while the process idles, and a process that exits (or crashes) right after logging must
// not lose its last lines.
const logger = pathToFileURL(
  join(import.meta.dirname, '..', '..', 'dist', 'libs', 'platform', 'src', 'logger.js'),
).href;

function run(script: string): Promise<{ code: number | null; lines: { msg: string }[]; firstLineAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      '--input-type=module',
      '-e',
      `import { createLogger } from '${logger}';\n${script}`,
    ]);
    const started = Date.now();
    const out: Buffer[] = [];
    let firstLineAfterMs = -1;
    child.stdout.on('data', (chunk: Buffer) => {
      if (firstLineAfterMs < 0) firstLineAfterMs = Date.now() - started;
      out.push(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      resolve({
        code,
        lines: Buffer.concat(out)
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { msg: string }),
        firstLineAfterMs,
      }),
    );
  });
}

describe('buffered stdout logs', () => {
  it('writes a line within the flush period while the process keeps running', async () => {
    // The process lives 3 s; the line must come out long before it exits.
    const result = await run(`createLogger().info('idle line'); setTimeout(() => {}, 3000);`);
    expect(result.lines.map((l) => l.msg)).toEqual(['idle line']);
    expect(result.firstLineAfterMs).toBeGreaterThan(0);
    expect(result.firstLineAfterMs).toBeLessThan(2500);
  });

  it('keeps every line of a process that exits at once', async () => {
    const result = await run(
      `const log = createLogger(); for (let i = 0; i < 1000; i++) log.info('line ' + i); process.exit(3);`,
    );
    expect(result.code).toBe(3);
    // Every line, in the order written (they leave in chunks).
    expect(result.lines.map((l) => l.msg)).toEqual(Array.from({ length: 1000 }, (_, i) => `line ${i}`));
  });

  it('keeps multi-byte text whole and in order, across chunk boundaries and in a line longer than a chunk', async () => {
    // Line i: 'é—🙂' (2, 3 and 4 bytes in UTF-8) repeated 5 * i times, so lines end at many offsets of a
    // 64 KiB chunk; line 150 is about 90 KiB on its own.
    const result = await run(
      `const log = createLogger(); for (let i = 0; i < 200; i++) log.info(i + ':' + 'é—🙂'.repeat(i === 150 ? 10000 : i * 5)); process.exit(0);`,
    );
    expect(result.code).toBe(0);
    expect(result.lines.map((l) => l.msg)).toEqual(
      Array.from({ length: 200 }, (_, i) => `${i}:${'é—🙂'.repeat(i === 150 ? 10000 : i * 5)}`),
    );
  });

  it('keeps the last lines of a process that crashes', async () => {
    const result = await run(`createLogger().error('about to crash'); throw new Error('boom');`);
    expect(result.code).toBe(1);
    expect(result.lines.map((l) => l.msg)).toEqual(['about to crash']);
  });
});
