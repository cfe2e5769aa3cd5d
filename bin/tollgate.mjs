#!/usr/bin/env node
// `npx tollgate …` from the repository: runs the built ops CLI (`npm run build` first).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'apps', 'ops', 'src', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('tollgate: the CLI is not built yet: run `npm run build`\n');
  process.exit(1);
}
await import(pathToFileURL(entry).href);
