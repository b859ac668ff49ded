import { readFileSync } from 'node:fs';
import { sep } from 'node:path';
import { loadedNestPackage } from './helpers/nest-line.js';

/**
 * Which Nest line this Jest run loads: `jest.nest11.config.js` declares
 * `__NEST_LINE__: 11` and maps `@nestjs/*` to test/nest11; the default run
 * uses the root's Nest (the major of its `@nestjs/core` devDependency). If a
 * mapping were wrong, the "Nest 11" run would silently test Nest 12 again.
 */
declare const __NEST_LINE__: number | undefined;

const rootManifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> };
const expectedMajor = typeof __NEST_LINE__ === 'number' ? __NEST_LINE__ : Number(/\d+/.exec(rootManifest.devDependencies['@nestjs/core'])![0]);

describe(`the Nest line of this run (Nest ${expectedMajor})`, () => {
  it.each(['common', 'core', 'websockets', 'testing', 'platform-express'])('loads @nestjs/%s of that line', (name) => {
    const { major, dir } = loadedNestPackage(name);
    expect(major).toBe(expectedMajor);
    // Nest 11 comes from test/nest11 only; the root holds the dev default.
    expect(dir.includes(`${sep}test${sep}nest11${sep}node_modules${sep}`)).toBe(expectedMajor === 11);
  });
});
