/**
 * The second Jest run: the pipeline tests on Nest 11 (the dev default is Nest 12).
 *
 * Nest 11 lives in test/nest11 (`npm ci --prefix test/nest11`). Jest's
 * resolver would find the root's Nest 12 from every file of the repo, so
 * `@nestjs/*` is mapped to Nest 11 here; a mapping applies to every import,
 * Nest's own included. The packages that keep state shared by the app and
 * the test files (rxjs's `Observable` class checked with `instanceof`,
 * class-validator's and class-transformer's decorator metadata, the global
 * `Reflect` metadata) are mapped to the same directory, so that the whole
 * process sees one copy of each. Nest 11 is CommonJS, which Jest's ESM mode
 * imports with named exports.
 */
import base from './jest.config.js';

const NEST11 = '<rootDir>/test/nest11/node_modules';

export default {
  ...base,
  displayName: 'nest11',
  roots: ['<rootDir>/test'],
  testMatch: [
    '<rootDir>/test/nest-line.spec.ts',
    '<rootDir>/test/integration/pipeline.e2e-spec.ts',
    '<rootDir>/test/unit/internals/nest.spec.ts',
  ],
  globals: { __NEST_LINE__: 11 },
  moduleNameMapper: {
    '^@nestjs/(common|core|platform-express|testing|websockets)(/.*)?$': `${NEST11}/@nestjs/$1$2`,
    '^(rxjs|reflect-metadata|class-transformer|class-validator)(/.*)?$': `${NEST11}/$1$2`,
    ...base.moduleNameMapper,
  },
};
