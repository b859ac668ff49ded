/**
 * The packaging test: what a user gets from `npm install nestjs-switchboard`.
 *
 * Builds the library, packs it with `npm pack`, and installs the tarball into
 * two throwaway consumer projects made from `fixtures/` in the OS temp dir:
 * - `cjs-nest11`: CommonJS on Nest 11 (`require` → dist/cjs);
 * - `esm-nest12`: ESM on Nest 12 (`import` → dist/esm).
 * In each it runs a smoke script that boots a real app on 127.0.0.1 and talks
 * to it over `ws`, then type-checks a small TypeScript file against the
 * package's published types with the repo's own `tsc`.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

const MINUTE = 60_000;

interface Consumer {
  name: 'cjs-nest11' | 'esm-nest12';
  smoke: string;
  dir: string;
}

/**
 * The environment for child processes: without Jest's NODE_OPTIONS and
 * without the variables `npm test` sets for the repo's own package, so a
 * consumer behaves as it would on a user's machine.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(NODE_OPTIONS|INIT_CWD|npm_package_.*|npm_lifecycle_.*|npm_config_local_prefix)$/i.test(key)) {
      env[key] = value;
    }
  }
  return env;
}

/** Runs a command with a time limit; fails with its output so a failure explains itself. */
function run(command: string, args: string[], cwd: string, timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout, env: childEnv(), maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const reason = error.killed ? `timed out after ${timeout} ms` : `exited with ${error.code ?? error.signal}`;
        reject(new Error(`\`${command} ${args.join(' ')}\` in ${cwd} ${reason}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
        return;
      }
      resolve(stdout);
    });
  });
}

describe('the packed library in consumer projects', () => {
  let workDir: string;
  const consumers: Consumer[] = [
    { name: 'cjs-nest11', smoke: 'smoke.cjs', dir: '' },
    { name: 'esm-nest12', smoke: 'smoke.mjs', dir: '' },
  ];
  let packedFiles: string[] = [];

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'switchboard-packaging-'));
    await run('npm', ['run', 'build'], REPO, 2 * MINUTE);
    const [packed] = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', workDir], REPO, MINUTE)) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    packedFiles = packed.files.map((file) => file.path);
    const tarball = join(workDir, packed.filename);

    // Both consumers install at once: the installs are mostly waiting on the network.
    await Promise.all(
      consumers.map(async (consumer) => {
        consumer.dir = join(workDir, consumer.name);
        cpSync(join(FIXTURES, consumer.name), consumer.dir, { recursive: true });
        const manifestPath = join(consumer.dir, 'package.json');
        const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { dependencies: Record<string, string> };
        manifest.dependencies['nestjs-switchboard'] = `file:${tarball}`;
        writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
        await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], consumer.dir, 3 * MINUTE);
      }),
    );
  }, 4 * MINUTE);

  afterAll(() => {
    if (workDir !== undefined) {
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('ships every file the exports map names, and the per-format package.json files', () => {
    const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { exports: unknown };
    const targets = JSON.stringify(manifest.exports).match(/"\.\/[^"]+"/g) ?? [];
    const expected = [...targets.map((target) => target.slice(3, -1)), 'dist/cjs/package.json', 'dist/esm/package.json'];
    expect(packedFiles).toEqual(expect.arrayContaining(expected));
    expect(packedFiles.filter((file) => !file.startsWith('dist/') && file !== 'package.json' && file !== 'README.md')).toEqual([]);
  });

  describe.each(consumers.map((consumer) => [consumer.name, consumer] as const))('%s', (_name, consumer) => {
    it('loads its module format and serves acks, replies and error acks', async () => {
      const output = await run(process.execPath, [consumer.smoke], consumer.dir, MINUTE);
      expect(output).toContain(`${consumer.name} smoke: ok`);
    }, 2 * MINUTE);

    it('type-checks against the published types', async () => {
      await run(process.execPath, [TSC, '-p', 'tsconfig.json'], consumer.dir, 2 * MINUTE);
    }, 3 * MINUTE);
  });
});
