import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SpecServer } from './helpers/spec-server.js';

/**
 * The Node builds of nestjs-switchboard/client, as tsc makes them for
 * dist/esm and dist/cjs (the repo's two build configs, compiled here into a
 * temp dir so dist/ is left alone), loaded by plain Node 20 without a global
 * WebSocket: `require` in CommonJS and `import` in ESM each find the `ws`
 * package by themselves and talk to a server.
 */
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function run(file: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file, ...args], { cwd, timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '' } }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`${file} failed: ${error.message}\n${stdout}\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

describe('the Node builds of the client (tsc, ESM and CJS)', () => {
  let dir: string;
  let server: SpecServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-client-'));
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const builds = [
      ['tsconfig.build.json', 'esm', 'module'],
      ['tsconfig.build.cjs.json', 'cjs', 'commonjs'],
    ];
    await Promise.all(
      builds.map(async ([project, folder, type]) => {
        const config = join(dir, `tsconfig.${folder}.json`);
        writeFileSync(
          config,
          JSON.stringify({
            extends: join(REPO, project),
            compilerOptions: { rootDir: join(REPO, 'lib'), outDir: join(dir, folder), typeRoots: [join(REPO, 'node_modules/@types')], sourceMap: false, inlineSources: false, declaration: false },
            include: [join(REPO, 'lib/client')],
          }),
        );
        await run(TSC, ['-p', config], REPO);
        mkdirSync(join(dir, folder), { recursive: true });
        writeFileSync(join(dir, folder, 'package.json'), JSON.stringify({ type }));
      }),
    );
    server = await SpecServer.start();
    server.handle('add', (data) => (data as { a: number; b: number }).a + (data as { a: number; b: number }).b);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const script = (load: string): string => `
    ${load}
    const client = new SwitchboardClient({ url: process.argv[2] });
    client.request('add', { a: 2, b: 3 }).then((sum) => {
      console.log(JSON.stringify({ sum, state: client.state, session: typeof client.session }));
      client.close();
    }, (error) => { console.error(error); process.exit(1); });
  `;

  it('CommonJS: require() gives the client, which loads ws with require', async () => {
    writeFileSync(join(dir, 'cjs', 'smoke.js'), script("const { SwitchboardClient } = require('./client/index.js');"));
    const out = await run(join(dir, 'cjs', 'smoke.js'), [server.url], dir);
    expect(JSON.parse(out)).toEqual({ sum: 5, state: 'open', session: 'string' });
  });

  it('ESM: import gives the client, which loads ws with import()', async () => {
    writeFileSync(join(dir, 'esm', 'smoke.js'), script("import { SwitchboardClient } from './client/index.js';"));
    const out = await run(join(dir, 'esm', 'smoke.js'), [server.url], dir);
    expect(JSON.parse(out)).toEqual({ sum: 5, state: 'open', session: 'string' });
  });
});
