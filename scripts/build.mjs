// Builds the library twice from one source: ESM (dist/esm) for Nest 12, Jest ESM
// mode and Vitest; CommonJS (dist/cjs) for Nest 11 apps and Jest's CommonJS mode.
// Each folder gets a package.json naming its module format. Last, esbuild bundles
// the client for browsers (scripts/build-client.mjs).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { buildClient } from './build-client.mjs';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

rmSync('dist', { recursive: true, force: true });
for (const [project, folder, type] of [
  ['tsconfig.build.json', 'dist/esm', 'module'],
  ['tsconfig.build.cjs.json', 'dist/cjs', 'commonjs'],
]) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
  mkdirSync(folder, { recursive: true });
  writeFileSync(`${folder}/package.json`, JSON.stringify({ type }, null, 2) + '\n');
}
// The browser bundle of nestjs-switchboard/client (dist/browser/client.js).
await buildClient();
console.log('built dist/esm, dist/cjs and dist/browser');
