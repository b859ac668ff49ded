/**
 * The packaging test: what a user gets from `npm install nestjs-switchboard`.
 *
 * Builds the library, packs it with `npm pack`, and installs the tarball into
 * throwaway consumer projects made from `fixtures/` in the OS temp dir, all
 * at once. Two are apps, which run a smoke script that boots a real app on
 * 127.0.0.1 and talks to it over `ws`, then type-check a small TypeScript
 * file against the package's published types with the repo's own `tsc`:
 * - `cjs-nest11`: CommonJS on Nest 11 (`require` → dist/cjs), type-checked
 *   with `moduleResolution` node16 and also node10, which ignores `exports`
 *   and reaches `nestjs-switchboard/testing` through `typesVersions`;
 * - `esm-nest12`: ESM on Nest 12 (`import` → dist/esm).
 * The installed package is also checked for readable stack traces: every
 * source map embeds its TypeScript source, and its `sources` point at the
 * shipped `lib/` file with that content, which Node's `--enable-source-maps`
 * names in a stack trace of an error thrown inside the library.
 * Three are test suites, which run `npm test`: a gateway test through the
 * `nestjs-switchboard/testing` harness (in memory: handshake auth, ack, error
 * ack, guard, events, close), a mock-socket unit test and the README's
 * fake-timer recipe for that runner (a heartbeat test), in the test runners
 * users have:
 * - `jest-cjs-nest11`: Jest in its default CommonJS mode on Nest 11;
 * - `jest-esm-nest12`: Jest in ESM mode (`--experimental-vm-modules`) on Nest 12;
 * - `vitest-nest12`: Vitest on Nest 12.
 * A runner must also exit by itself: Jest runs with `--detectOpenHandles` and
 * without `--forceExit`, so anything the harness leaves open fails the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** A consumer app: a smoke script, and a TypeScript file to type-check. */
interface AppConsumer {
  name: 'cjs-nest11' | 'esm-nest12';
  smoke: string;
  dir: string;
}

/** A consumer test suite, run with `npm test`. */
interface SuiteConsumer {
  name: 'jest-cjs-nest11' | 'jest-esm-nest12' | 'vitest-nest12';
  /** The runner's last summary line: once printed, the runner must exit by itself. */
  finished: RegExp;
  /** Every test passed, and there was at least one: the same count passed as ran. */
  allPassed: RegExp;
  /** What the runner prints when something it ran is still open. */
  leakWarnings: RegExp;
  dir: string;
}

const JEST = {
  finished: /^Ran all test suites/m,
  allPassed: /^Tests:\s+([1-9]\d*) passed, \1 total$/m,
  leakWarnings: /open handles? potentially keeping Jest from exiting|did not exit one second after/,
};
const VITEST = {
  finished: /^\s*Duration\s/m,
  allPassed: /^\s*Tests\s+([1-9]\d*) passed \(\1\)$/m,
  leakWarnings: /close timed out|something prevents .* from exiting|hanging-process/,
};

/** How long a runner that printed its summary may take to exit. */
const EXIT_GRACE = 10 * SECOND;

/** Child processes still running, each the leader of its own process group. */
const running = new Set<ChildProcess>();

/** Ends a child and everything it started. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * The environment for child processes: without Jest's NODE_OPTIONS and
 * without the variables `npm test` sets for the repo's own package, so a
 * consumer behaves as it would on a user's machine; colours off for
 * readable failures.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NO_COLOR: '1' };
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(NODE_OPTIONS|INIT_CWD|FORCE_COLOR|npm_package_.*|npm_lifecycle_.*|npm_config_local_prefix)$/i.test(key)) {
      env[key] = value;
    }
  }
  return env;
}

interface RunOptions {
  /**
   * Once the output matches this, the process must exit within
   * {@link EXIT_GRACE}: a test runner that printed its summary but does not
   * exit is kept alive by something a test left open.
   */
  finished?: RegExp;
}

/**
 * Runs a command with a time limit, in its own process group so that a
 * timeout ends its children too (npm → sh → the runner → its workers).
 * Fails with the full output, so a failure explains itself.
 */
function run(command: string, args: string[], cwd: string, timeout: number, options: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const commandLine = `\`${command} ${args.join(' ')}\` in ${cwd}`;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let failure: string | undefined;
    let exitTimer: NodeJS.Timeout | undefined;
    const stop = (reason: string): void => {
      if (failure === undefined) {
        failure = reason;
        killGroup(child);
      }
    };
    const timer = setTimeout(() => stop(`timed out after ${timeout} ms`), timeout);
    const watch = (): void => {
      if (options.finished !== undefined && exitTimer === undefined && options.finished.test(stdout + stderr)) {
        exitTimer = setTimeout(
          () => stop(`finished (printed ${String(options.finished)}) but did not exit within ${EXIT_GRACE} ms: something a test started is still running`),
          EXIT_GRACE,
        );
      }
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      watch();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      watch();
    });
    child.on('error', (error) => stop(`could not start: ${error.message}`));
    child.on('close', (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      clearTimeout(exitTimer);
      if (failure === undefined && code === 0) {
        resolve({ stdout, stderr });
      } else {
        reject(new Error(`${commandLine} ${failure ?? `exited with ${code ?? signal}`}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
      }
    });
  });
}

/** The source map fields this test reads. */
interface SourceMap {
  sources: string[];
  sourceRoot?: string;
  sourcesContent?: Array<string | null>;
}

/** Every file under a folder, recursively, as absolute paths. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/**
 * Throws a SwitchboardError from inside the installed library (a socket.io
 * namespace is refused in `SwitchboardAdapter#create`) and prints its stack,
 * mapped by Node's own source map support.
 */
const THROW_INSIDE_LIBRARY = `
  try {
    new SwitchboardAdapter().create(0, { namespace: '/io' });
  } catch (error) {
    console.log(error.stack);
  }
  process.exit(0); // the adapter's own hub would keep the process alive
`;

/** The file paths an `exports` map points to (its string leaves, not its keys). */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') {
    return [value.replace(/^\.\//, '')];
  }
  return typeof value === 'object' && value !== null ? Object.values(value).flatMap(exportTargets) : [];
}

describe('the packed library in consumer projects', () => {
  let workDir: string;
  const apps: AppConsumer[] = [
    { name: 'cjs-nest11', smoke: 'smoke.cjs', dir: '' },
    { name: 'esm-nest12', smoke: 'smoke.mjs', dir: '' },
  ];
  const suites: SuiteConsumer[] = [
    { name: 'jest-cjs-nest11', ...JEST, dir: '' },
    { name: 'jest-esm-nest12', ...JEST, dir: '' },
    { name: 'vitest-nest12', ...VITEST, dir: '' },
  ];
  let packedFiles: string[] = [];

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'switchboard-packaging-'));
    await run('npm', ['run', 'build'], REPO, 2 * MINUTE);
    const packOutput = await run('npm', ['pack', '--json', '--pack-destination', workDir], REPO, MINUTE);
    const [packed] = JSON.parse(packOutput.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packedFiles = packed.files.map((file) => file.path);
    const tarball = join(workDir, packed.filename);

    // Every consumer installs at once: the installs are mostly waiting on the network and the disk.
    await Promise.all(
      [...apps, ...suites].map(async (consumer) => {
        consumer.dir = join(workDir, consumer.name);
        cpSync(join(FIXTURES, consumer.name), consumer.dir, { recursive: true });
        const manifestPath = join(consumer.dir, 'package.json');
        const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { dependencies: Record<string, string> };
        manifest.dependencies['nestjs-switchboard'] = `file:${tarball}`;
        writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
        await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], consumer.dir, 2.5 * MINUTE);
      }),
    );
  }, 6 * MINUTE);

  afterAll(() => {
    // Only after a hook or test timed out before its command did.
    running.forEach(killGroup);
    if (workDir !== undefined) {
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('ships every file the exports map names, and the per-format package.json files', () => {
    const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { exports: unknown };
    const expected = [...exportTargets(manifest.exports), 'dist/cjs/package.json', 'dist/esm/package.json'];
    expect(expected).toEqual(expect.arrayContaining(['dist/cjs/testing/index.js', 'dist/esm/testing/index.d.ts']));
    expect(packedFiles).toEqual(expect.arrayContaining(expected));
    // lib/: the TypeScript sources the source maps point at, and the house plan (npm always packs READMEs).
    expect(packedFiles).toContain('lib/testing/gateway-harness.ts');
    expect(packedFiles.filter((file) => file.startsWith('lib/') && !file.endsWith('.ts'))).toEqual(['lib/README.md']);
    expect(packedFiles.filter((file) => !/^(dist|lib)\//.test(file) && file !== 'package.json' && file !== 'README.md')).toEqual([]);
  });

  it('ships source maps that embed their TypeScript source and point at the shipped copy of it', () => {
    const installed = join(apps[0].dir, 'node_modules', 'nestjs-switchboard');
    for (const build of ['esm', 'cjs']) {
      const scripts = filesUnder(join(installed, 'dist', build)).filter((file) => file.endsWith('.js'));
      expect(scripts.length).toBeGreaterThan(10);
      for (const script of scripts) {
        const mapFile = `${script}.map`;
        expect(readFileSync(script, 'utf8')).toMatch(/\/\/# sourceMappingURL=[^/\s]+\.js\.map\s*$/);
        const map = JSON.parse(readFileSync(mapFile, 'utf8')) as SourceMap;
        expect(map.sources).toHaveLength(1);
        expect(map.sourcesContent).toHaveLength(1);
        const source = resolve(dirname(mapFile), map.sourceRoot ?? '', map.sources[0]);
        // The path resolves inside the installed package, to a file whose content is the embedded one.
        expect(source.startsWith(join(installed, 'lib') + sep)).toBe(true);
        expect(existsSync(source)).toBe(true);
        expect(map.sourcesContent![0]).toBe(readFileSync(source, 'utf8'));
      }
    }
  });

  describe.each(apps.map((consumer) => [consumer.name, consumer] as const))('%s', (_name, consumer) => {
    it('loads its module format and serves acks, replies and error acks', async () => {
      const { stdout } = await run(process.execPath, [consumer.smoke], consumer.dir, MINUTE);
      expect(stdout).toContain(`${consumer.name} smoke: ok`);
    }, 2 * MINUTE);

    it('type-checks against the published types', async () => {
      await run(process.execPath, [TSC, '-p', 'tsconfig.json'], consumer.dir, 2 * MINUTE);
    }, 3 * MINUTE);

    it("maps a stack trace from inside the library to the shipped TypeScript source, with --enable-source-maps", async () => {
      const program =
        consumer.name === 'cjs-nest11'
          ? ['-e', `const { SwitchboardAdapter } = require('nestjs-switchboard');${THROW_INSIDE_LIBRARY}`]
          : ['--input-type=module', '-e', `import { SwitchboardAdapter } from 'nestjs-switchboard';${THROW_INSIDE_LIBRARY}`];
      const { stdout } = await run(process.execPath, ['--enable-source-maps', ...program], consumer.dir, MINUTE);
      const frame = /at SwitchboardAdapter\.create \((?:file:\/\/)?(.+?):(\d+):\d+\)/.exec(stdout);
      expect(frame).not.toBeNull();
      const [, file, line] = frame!;
      // Node names modules by their real path (the temp dir may be behind a symlink).
      expect(file).toBe(join(realpathSync(consumer.dir), 'node_modules', 'nestjs-switchboard', 'lib', 'adapter', 'switchboard.adapter.ts'));
      // The frame's line, in the shipped file, is the one that throws.
      expect(readFileSync(file, 'utf8').split('\n')[Number(line) - 1]).toContain('SwitchboardError');
    }, 2 * MINUTE);
  });

  it('cjs-nest11 type-checks with "moduleResolution": "node", the testing entry included (typesVersions)', async () => {
    await run(process.execPath, [TSC, '-p', 'tsconfig.node10.json'], apps[0].dir, 2 * MINUTE);
  }, 3 * MINUTE);

  describe.each(suites.map((consumer) => [consumer.name, consumer] as const))('%s', (_name, consumer) => {
    it('passes a gateway test, a mock-socket test and a fake-timer test written with nestjs-switchboard/testing, and exits by itself', async () => {
      const { stdout, stderr } = await run('npm', ['test'], consumer.dir, 2 * MINUTE, { finished: consumer.finished });
      const output = `${stdout}\n${stderr}`;
      const explain = `\`npm test\` in ${consumer.dir} exited with 0, but its output has`;
      const printed = `\n--- stdout\n${stdout}\n--- stderr\n${stderr}`;
      if (!consumer.allPassed.test(output)) {
        throw new Error(`${explain} no summary saying that every test passed (${String(consumer.allPassed)})${printed}`);
      }
      if (consumer.leakWarnings.test(output)) {
        throw new Error(`${explain} a warning that something was left running (${String(consumer.leakWarnings)})${printed}`);
      }
    }, 3 * MINUTE);
  });
});
