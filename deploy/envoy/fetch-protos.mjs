// Envoy's own .proto files for the authorizer's gRPC door (envoy.service.auth.v3.Authorization/Check),
// fetched from Maven Central through ./pom.xml and unpacked into deploy/envoy/proto/ (gitignored, cached).
// Only the import closure of the roots below is kept (about 25 files), so the folder holds exactly what
// @grpc/proto-loader reads.
//
//   node deploy/envoy/fetch-protos.mjs          fetches if missing or stale, prints the folder
//   import { ensureEnvoyProtos } from '.../deploy/envoy/fetch-protos.mjs'
//   const { dir, root } = await ensureEnvoyProtos();   // loadSync(root, { includeDirs: [dir] })
//
// Plain Node ESM on purpose (like deploy/kafka/local-kafka.mjs): it runs without a build step.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moveIntoPlace, requireTool, run } from '../tools.mjs';

const ENVOY_DIR = dirname(fileURLToPath(import.meta.url));
const POM = join(ENVOY_DIR, 'pom.xml');
export const PROTO_DIR = join(ENVOY_DIR, 'proto');
const STAMP = '.stamp';

/** The services the authorizer serves; everything they import (transitively) is kept. */
export const ROOTS = ['envoy/service/auth/v3/external_auth.proto'];
export const EXT_AUTHZ_PROTO = ROOTS[0];
export { INSTALL_HINT } from '../tools.mjs';

const IMPORT_RE = /^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm;

function stampValue() {
  return createHash('sha256')
    .update(readFileSync(POM))
    .update(`\n${ROOTS.join('\n')}\n`)
    .digest('hex');
}

function isFresh(folder, stamp) {
  try {
    if (readFileSync(join(folder, STAMP), 'utf8').split('\n')[0] !== stamp) return false;
    return ROOTS.every((root) => existsSync(join(folder, root)));
  } catch {
    return false;
  }
}

/**
 * The import closure of `roots` inside `from`, in a stable order. Throws naming the file when an import
 * cannot be found (a pom.xml that lacks a jar), rather than leaving proto-loader to fail later.
 */
export async function importClosure(from, roots = ROOTS) {
  const seen = new Set();
  const stack = [...roots];
  while (stack.length > 0) {
    const file = stack.pop();
    if (seen.has(file)) continue;
    let text;
    try {
      text = await readFile(join(from, file), 'utf8');
    } catch {
      throw new Error(`${file} (imported from the roots ${roots.join(', ')}) is in none of the jars of ${POM}`);
    }
    seen.add(file);
    for (const match of text.matchAll(IMPORT_RE)) stack.push(match[1]);
  }
  return [...seen].sort();
}

/**
 * Makes sure deploy/envoy/proto holds the closure of the roots for the current pom.xml; fetches with Maven
 * otherwise (a few seconds when Maven's plugins are cached). Two processes may call it at once: each
 * builds a private folder and renames it into place, so nobody ever reads half a folder.
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {Promise<{ dir: string, root: string, files: string[] }>}
 */
export async function ensureEnvoyProtos({ log = () => {} } = {}) {
  const stamp = stampValue();
  if (isFresh(PROTO_DIR, stamp)) {
    const files = readFileSync(join(PROTO_DIR, STAMP), 'utf8').split('\n').slice(1).filter(Boolean);
    return { dir: PROTO_DIR, root: EXT_AUTHZ_PROTO, files };
  }
  requireTool('java', "Fetching Envoy's .proto files");
  requireTool('mvn', "Fetching Envoy's .proto files");
  const staging = `${PROTO_DIR}.fetch-${process.pid}-${randomBytes(3).toString('hex')}`;
  const unpacked = join(staging, 'unpacked');
  const kept = join(staging, 'proto');
  const started = Date.now();
  log(`envoy: fetching .proto files with Maven into ${PROTO_DIR} (first time or pom.xml changed)`);
  try {
    await run(
      'mvn',
      [
        '-q',
        '-B',
        'dependency:unpack-dependencies',
        `-DoutputDirectory=${unpacked}`,
        // Private markers: Maven skips jars whose marker exists, which would leave a fresh folder empty.
        `-DmarkersDirectory=${join(staging, 'markers')}`,
        '-Dmdep.unpack.includes=**/*.proto',
        '-DexcludeTransitive=true',
        '-DincludeScope=runtime',
        '-f',
        POM,
      ],
      { cwd: ENVOY_DIR },
    );
    const files = await importClosure(unpacked);
    for (const file of files) {
      await mkdir(dirname(join(kept, file)), { recursive: true });
      await copyFile(join(unpacked, file), join(kept, file));
    }
    await writeFile(join(kept, STAMP), `${stamp}\n${files.join('\n')}\n`);
    await moveIntoPlace(kept, PROTO_DIR, () => isFresh(PROTO_DIR, stamp));
    log(`envoy: ${files.length} .proto files ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { dir: PROTO_DIR, root: EXT_AUTHZ_PROTO, files };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

const invokedDirectly = (() => {
  try {
    return (
      process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  ensureEnvoyProtos({ log: (line) => console.error(line) }).then(
    ({ dir, files }) => console.log(`${dir} (${files.length} files)`),
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
