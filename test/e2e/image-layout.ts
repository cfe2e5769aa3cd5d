// The container image's runtime file list, reproduced from deploy/docker/Dockerfile without a Docker engine:
// the runtime stage's COPY lines, applied to the built repository (`npm run build` first).
import { cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
export const DOCKERFILE = join(root, 'deploy', 'docker', 'Dockerfile');

interface Stage {
  name: string | undefined;
  workdir: string;
  runs: string[];
  copies: { from: string | undefined; sources: string[]; dest: string; intoFolder: boolean }[];
}

/** The Dockerfile's stages, with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [instruction = '', ...words] = line.split(/\s+/);
    const stage = stages.at(-1);
    switch (instruction.toUpperCase()) {
      case 'FROM': {
        const as = words.findIndex((word) => word.toUpperCase() === 'AS');
        stages.push({ name: as >= 0 ? words[as + 1] : undefined, workdir: '/', runs: [], copies: [] });
        break;
      }
      case 'WORKDIR':
        stage!.workdir = posix.resolve(stage!.workdir, words[0]!);
        break;
      case 'RUN':
        stage!.runs.push(words.join(' '));
        break;
      case 'COPY': {
        const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
        const paths = words.filter((word) => !word.startsWith('--'));
        if (paths.length < 2) throw new Error(`cannot read the COPY line: ${line}`);
        const dest = paths.at(-1)!;
        stage!.copies.push({
          from,
          sources: paths.slice(0, -1),
          dest: posix.resolve(stage!.workdir, dest),
          intoFolder: dest.endsWith('/') || dest === '.',
        });
        break;
      }
      default:
    }
  }
  return stages;
}

/** One runtime entry: `repoPath` (in the built repository) lands at `imagePath` (relative to the workdir). */
export interface LayoutEntry {
  repoPath: string;
  imagePath: string;
  /** node_modules after `npm prune --omit=dev`: only the production packages */
  productionOnly: boolean;
}

/** The runtime stage's files, as repository paths. Only `COPY . .` build stages are understood. */
export function runtimeLayout(text = readFileSync(DOCKERFILE, 'utf8')): LayoutEntry[] {
  const stages = parseDockerfile(text);
  const runtime = stages.at(-1)!;
  return runtime.copies.flatMap(({ from, sources, dest, intoFolder }) => {
    const build = from === undefined ? undefined : stages.find((stage) => stage.name === from);
    if (from !== undefined && !build) throw new Error(`COPY --from=${from}: no such stage`);
    if (build && !build.copies.some((copy) => copy.sources.includes('.'))) {
      throw new Error(`stage ${from} does not COPY the repository (COPY . .): cannot map its paths`);
    }
    const pruned = build?.runs.some((run) => /npm prune --omit=dev/.test(run)) ?? false;
    return sources.map((source) => {
      const repoPath = build ? posix.relative(build.workdir, posix.resolve(build.workdir, source)) : source;
      const target = intoFolder || sources.length > 1 ? posix.join(dest, basename(repoPath)) : dest;
      return {
        repoPath,
        imagePath: posix.relative(runtime.workdir, target) || '.',
        productionOnly: pruned && repoPath === 'node_modules',
      };
    });
  });
}

/** The top-level node_modules folders (those `npm prune --omit=dev` keeps), from package-lock.json. */
function packages(productionOnly: boolean): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([path, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && !(productionOnly && entry.dev))
    .map(([path]) => path.slice('node_modules/'.length));
}

/**
 * Copies the runtime files into `target` as the image holds them. node_modules packages are symlinked (Node
 * resolves a package's own imports from its real path), everything else is copied, so code under `target`
 * resolves modules only from what the image has.
 */
export function reproduceImage(target: string, layout = runtimeLayout()): void {
  for (const entry of layout) {
    const to = join(target, entry.imagePath);
    const from = join(root, entry.repoPath);
    if (entry.repoPath === 'node_modules') {
      for (const name of packages(entry.productionOnly)) {
        mkdirSync(dirname(join(to, name)), { recursive: true });
        symlinkSync(join(from, name), join(to, name), 'dir');
      }
    } else {
      mkdirSync(dirname(to), { recursive: true });
      cpSync(from, to, { recursive: true });
    }
  }
}
