// Refreshes the vendored copy of Envoy's .proto files in deploy/envoy/proto/ (committed; see its README.md)
// from Maven Central through ./pom.xml. Only maintainers run it, after changing a version in pom.xml:
// starting Tollgate never needs Java, Maven or the network. It keeps only the import closure of the roots
// below (about 25 files), so the folder holds exactly what @grpc/proto-loader reads.
//
//   node deploy/envoy/vendor-protos.mjs      replaces the .proto files in deploy/envoy/proto/
//
// Plain Node ESM on purpose (like deploy/kafka/local-kafka.mjs): it runs without a build step.
import { randomBytes } from 'node:crypto';
import { readdirSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool, run } from '../tools.mjs';

const ENVOY_DIR = dirname(fileURLToPath(import.meta.url));
const POM = join(ENVOY_DIR, 'pom.xml');
export const PROTO_DIR = join(ENVOY_DIR, 'proto');

/** The services the authorizer serves; everything they import (transitively) is kept. */
export const ROOTS = ['envoy/service/auth/v3/external_auth.proto'];

const IMPORT_RE = /^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm;

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
      throw new Error(`${file} (imported from the roots ${roots.join(', ')}) is missing from ${from}`);
    }
    seen.add(file);
    for (const match of text.matchAll(IMPORT_RE)) stack.push(match[1]);
  }
  return [...seen].sort();
}

/** Every .proto file under `dir`, relative to it, sorted. */
export function protoFiles(dir = PROTO_DIR) {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.proto'))
    .map((file) => file.split('\\').join('/'))
    .sort();
}

/** The versions pom.xml pins, e.g. `{ 'envoy.api.version': '1.0.49', 'protobuf.version': '3.25.1' }`. */
export async function pinnedVersions() {
  const pom = await readFile(POM, 'utf8');
  return Object.fromEntries([...pom.matchAll(/<([a-z.]+\.version)>([^<]+)<\//g)].map((m) => [m[1], m[2]]));
}

/**
 * Fetches the jars named in pom.xml with Maven and replaces the .proto files in deploy/envoy/proto/ with the
 * import closure of the roots. README.md and the licence files in that folder are kept.
 * @returns {Promise<string[]>} the files now vendored, relative to deploy/envoy/proto/
 */
export async function vendorEnvoyProtos({ log = () => {} } = {}) {
  requireTool('java', "Refreshing Envoy's vendored .proto files");
  requireTool('mvn', "Refreshing Envoy's vendored .proto files");
  const staging = join(ENVOY_DIR, `.vendor-${process.pid}-${randomBytes(3).toString('hex')}`);
  try {
    log(`envoy: fetching the jars of ${POM} with Maven`);
    await run(
      'mvn',
      [
        '-q',
        '-B',
        'dependency:unpack-dependencies',
        `-DoutputDirectory=${staging}`,
        // Private markers: Maven skips jars whose marker exists, which would leave a fresh folder empty.
        `-DmarkersDirectory=${join(staging, '.markers')}`,
        '-Dmdep.unpack.includes=**/*.proto',
        '-DexcludeTransitive=true',
        '-DincludeScope=runtime',
        '-f',
        POM,
      ],
      { cwd: ENVOY_DIR },
    );
    const files = await importClosure(staging);
    for (const file of protoFiles(PROTO_DIR)) await rm(join(PROTO_DIR, file));
    for (const file of files) {
      await mkdir(dirname(join(PROTO_DIR, file)), { recursive: true });
      await copyFile(join(staging, file), join(PROTO_DIR, file));
    }
    log(`envoy: ${files.length} .proto files vendored in ${PROTO_DIR}; update the versions in its README.md`);
    return files;
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
  vendorEnvoyProtos({ log: (line) => console.error(line) }).catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
