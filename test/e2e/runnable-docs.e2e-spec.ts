import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerDifferences, runnableSteps, scriptOf, stepOutputs, type DocStep } from '../docs/runnable-docs';
import { startProduct, type ProductProcess } from './product-process';

// The README walkthrough and the docs' curl examples, run as written against `npm start` (embedded mode) on a
// free port with a bootstrap admin key: every command must succeed and every documented answer must have the
// shape of the real one. Files run in order (README first, then docs/ by name) on the same data, as a reader
// who follows the README and then docs/keys.md would.
const root = join(import.meta.dirname, '..', '..');
const ADMIN = 'e2e-runnable-docs-admin-credential-01234';
const DOCUMENTED_URL = 'http://127.0.0.1:8080';

function bash(
  script: string,
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env: { PATH: process.env.PATH, HOME: cwd, ...env }, cwd });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('runnable docs', () => {
  let product: ProductProcess;
  let cwd: string;
  const files: { name: string; steps: DocStep[] }[] = [];

  beforeAll(async () => {
    for (const name of ['README.md', ...(await readdir(join(root, 'docs'))).sort().map((f) => `docs/${f}`)]) {
      if (!name.endsWith('.md')) continue;
      const steps = runnableSteps(await readFile(join(root, name), 'utf8'));
      if (steps.length) files.push({ name, steps });
    }
    cwd = await mkdtemp(join(tmpdir(), 'tollgate-docs-'));
    product = await startProduct('tollgate', { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN });
  }, 120_000);

  afterAll(async () => {
    await product?.stop();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  }, 30_000);

  it('finds the README walkthrough and the keys workflow marked runnable', () => {
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['README.md', 'docs/keys.md']));
    expect(files.find((f) => f.name === 'README.md')!.steps.filter((s) => s.expected.length).length).toBeGreaterThan(8);
  });

  it('runs every runnable block as written, each answer shaped as documented', async () => {
    const failures: string[] = [];
    for (const { name, steps } of files) {
      const script = scriptOf(steps).replaceAll(DOCUMENTED_URL, product.url);
      const run = await bash(script, { ADMIN }, cwd);
      const outputs = stepOutputs(run.out);
      for (const [i, step] of steps.entries()) {
        const where = `${name}:${step.line} ${step.command.split('\n')[0]!.slice(0, 90)}`;
        const output = outputs.get(i);
        if (!output) {
          failures.push(`${where}: did not run (the script stopped before it; stderr: ${run.err.trim().slice(-500)})`);
          break;
        }
        if (output.rc !== 0) failures.push(`${where}: exit code ${output.rc}; stderr: ${run.err.trim().slice(-500)}`);
        for (const difference of answerDifferences(step.expected, output.text))
          failures.push(`${where}: ${difference}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
