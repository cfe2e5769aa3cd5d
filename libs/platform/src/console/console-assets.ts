import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

/** One built file of the console, read once at start-up. */
export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** File names the console is built into (`console/build.mjs`): nothing with a path, a dot first or odd bytes. */
const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.[a-z]+$/;

/**
 * The console's built files (dist/console), held in memory: serving never touches the file system, so no
 * request path can name a file outside this set. `undefined` when the console was not built.
 */
export class ConsoleAssets {
  private constructor(private readonly files: ReadonlyMap<string, ConsoleAsset>) {}

  /** Reads `dir`; a folder without the page and its script (console not built) gives an empty set. */
  static load(dir: string): ConsoleAssets {
    const files = new Map<string, ConsoleAsset>();
    if (existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'app.js'))) {
      for (const name of readdirSync(dir)) {
        const contentType = CONTENT_TYPES[extname(name)];
        const path = join(dir, name);
        if (!ASSET_NAME.test(name) || !contentType || !statSync(path).isFile()) continue;
        files.set(name, { body: readFileSync(path), contentType });
      }
    }
    return new ConsoleAssets(files);
  }

  get built(): boolean {
    return this.files.has('index.html');
  }

  /** The asset called exactly `name`, or undefined (a prototype key or a path is just an unknown name). */
  get(name: string): ConsoleAsset | undefined {
    return ASSET_NAME.test(name) ? this.files.get(name) : undefined;
  }
}

/** dist/console beside dist/libs (the build output this file is compiled into). */
export const DEFAULT_CONSOLE_DIR = join(import.meta.dirname, '..', '..', '..', '..', 'console');
