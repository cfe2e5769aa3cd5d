// Helpers shared by the project's Java-backed scripts (deploy/kafka/local-kafka.mjs fetches Kafka's jars,
// deploy/envoy/vendor-protos.mjs refreshes the vendored Envoy .proto files, both with Maven). Plain Node ESM.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, existsSync, constants as fsConstants } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** The apt-get command that installs Java and Maven on Debian/Ubuntu. */
export const INSTALL_HINT = 'apt-get install -y openjdk-17-jre-headless maven';

/**
 * Throws, with the install hint, when `name` is not an executable on PATH.
 * @param {string} name      e.g. `java`, `mvn`
 * @param {string} purpose   what needs it, e.g. `Local Kafka`
 */
export function requireTool(name, purpose) {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    if (!folder) continue;
    try {
      accessSync(join(folder, name), fsConstants.X_OK);
      return;
    } catch {
      // not in this folder
    }
  }
  throw new Error(
    `${purpose} needs Java 17+ and Maven, and \`${name}\` is not on PATH. ` +
      `On Debian/Ubuntu install them with: ${INSTALL_HINT}`,
  );
}

/** The last `lines` lines of `text`. */
export function tail(text, lines = 40) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Runs a command to completion; resolves with its combined output, rejects with the output's tail.
 * `options.onLine` (if given) receives each output line as it comes (progress); the rest goes to spawn.
 * @returns {Promise<string>}
 */
export function run(command, args, options = {}) {
  const { onLine, ...spawnOptions } = options;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let partial = '';
    const collect = (chunk) => {
      output += chunk;
      if (!onLine) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${tail(output)}`));
    });
  });
}

/**
 * Moves a freshly built folder to `target`, replacing a stale one, unless `isFresh()` already holds (another
 * process won the race). Renames keep readers from ever seeing half a folder: two processes may fetch at once.
 * @param {string} built
 * @param {string} target
 * @param {() => boolean} isFresh  whether `target` is already what `built` holds
 */
export async function moveIntoPlace(built, target, isFresh) {
  if (isFresh()) return;
  if (existsSync(target)) {
    const stale = `${target}.stale-${process.pid}-${randomBytes(3).toString('hex')}`;
    await rename(target, stale).catch(() => {});
    await rm(stale, { recursive: true, force: true });
  }
  try {
    await rename(built, target);
  } catch (error) {
    // Another process renamed its own copy into place between our check and our rename.
    if (!isFresh()) throw error;
  }
}
