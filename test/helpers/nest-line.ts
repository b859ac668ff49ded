import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';

// Jest's `require.resolve` applies the run's moduleNameMapper, as `import` does,
// so this finds the very package the tests and the library load.
const { resolve } = createRequire(import.meta.url);

/** The directory and version of the `@nestjs/<name>` that this run loads. */
export function loadedNestPackage(name: string): { version: string; major: number; dir: string } {
  const entry = resolve(`@nestjs/${name}`);
  let dir = dirname(entry);
  while (!dir.endsWith(`${sep}@nestjs${sep}${name}`)) {
    if (dir === dirname(dir)) {
      throw new Error(`@nestjs/${name} resolved outside a package directory: ${entry}`);
    }
    dir = dirname(dir);
  }
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  return { version, major: Number(version.split('.')[0]), dir };
}

/** The major version of the Nest that this run loads: 12 by default, 11 under jest.nest11.config.js. */
export const NEST_MAJOR = loadedNestPackage('core').major;
