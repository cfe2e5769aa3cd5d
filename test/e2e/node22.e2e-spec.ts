import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { answerDifferences, runnableSteps, scriptOf, stepOutputs } from '../docs/runnable-docs';
import { ensureNode22 } from './node22';
import { startProduct, type ProductProcess } from './product-process';

// Node 20 and 22 both work (issue 17): the suite runs on the machine's Node 20; this runs the built product
// on Node 22 (the image's line) and walks the README's runnable walkthrough against it, and the ops CLI.
const root = join(import.meta.dirname, '..', '..');
const ADMIN = 'e2e-node22-bootstrap-admin-credential-01';
const run = promisify(execFile);

describe('the product on Node 22', () => {
  let node22: string;
  let product: ProductProcess;
  let cwd: string;

  beforeAll(async () => {
    node22 = ensureNode22();
    cwd = await mkdtemp(join(tmpdir(), 'tollgate-node22-'));
    product = await startProduct('tollgate', { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN }, 90_000, root, node22);
  }, 400_000);

  afterAll(async () => {
    await product?.stop();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  }, 30_000);

  it('answers the README walkthrough as documented', async () => {
    const steps = runnableSteps(await readFile(join(root, 'README.md'), 'utf8'));
    const script = scriptOf(steps).replaceAll('http://127.0.0.1:8080', product.url);
    const { stdout } = await run('bash', ['-c', script], { env: { PATH: process.env.PATH, ADMIN }, cwd });
    const outputs = stepOutputs(stdout);
    const failures = steps.flatMap((step, i) => {
      const output = outputs.get(i);
      if (!output) return [`README.md:${step.line}: did not run`];
      return answerDifferences(step.expected, output.text).map((d) => `README.md:${step.line}: ${d}`);
    });
    expect(failures).toEqual([]);
  }, 60_000);

  it('runs the ops CLI', async () => {
    const { stdout } = await run(node22, [join(root, 'bin', 'tollgate.mjs'), '--help'], { cwd: root });
    expect(stdout).toMatch(/tollgate/);
    expect(stdout).toMatch(/events tail/);
  });
});
