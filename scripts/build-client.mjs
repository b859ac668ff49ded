// Bundles nestjs-switchboard/client for browsers: lib/client/index.ts into
// dist/browser/client.js (ESM, minified, with a source map). The Node builds
// of the client come from the tsc builds with the rest of lib/.
//
// `node scripts/build-client.mjs [--outdir <dir>]`; scripts/build.mjs calls
// buildClient() last; test/client/size.spec.ts builds in memory (write: false)
// to check the gzipped size.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The browser has a WebSocket: the module that loads the `ws` package in
 * Node is replaced by one that says what to pass instead, so the bundle
 * never names `ws` (no bundler of an app tries to resolve it).
 */
const noNodeWebSocket = {
  name: 'no-node-websocket',
  setup(esbuild) {
    esbuild.onResolve({ filter: /\/node-web-socket\.js$/ }, () => ({ path: 'node-web-socket', namespace: 'browser-stub' }));
    esbuild.onLoad({ filter: /.*/, namespace: 'browser-stub' }, () => ({
      contents: "export const loadWebSocket = () => Promise.reject(new TypeError('No global WebSocket: pass the WebSocket option.'));",
      loader: 'js',
    }));
  },
};

/** The esbuild options of the browser bundle. */
export const clientBuildOptions = {
  absWorkingDir: ROOT,
  entryPoints: ['lib/client/index.ts'],
  outfile: 'dist/browser/client.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  // Private members are named `_x` (TypeScript `private`), and only they: safe to shorten.
  mangleProps: /^_/,
  sourcemap: true,
  legalComments: 'none',
  tsconfig: 'tsconfig.build.json',
  plugins: [noNodeWebSocket],
  logLevel: 'warning',
};

/** Builds the browser bundle; `overrides` are esbuild options (`outfile`, `write: false`, ...). */
export function buildClient(overrides = {}) {
  return build({ ...clientBuildOptions, ...overrides });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outdir = process.argv.indexOf('--outdir');
  await buildClient(outdir === -1 ? {} : { outfile: `${process.argv[outdir + 1]}/client.js` });
  console.log('built dist/browser/client.js');
}
