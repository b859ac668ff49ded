/**
 * The dual-package hazard (issue 10, item 8): one Node process that loads
 * both builds of the packed library, `require('nestjs-switchboard')` (→
 * dist/cjs) and `import('nestjs-switchboard')` (→ dist/esm), as an ESM app
 * with a CommonJS helper does. There are then two copies of every class
 * and one Nest; what must hold regardless:
 * - `instanceof SwitchboardError` (and `SwitchboardSocket`) answers the same
 *   for either copy's instances (the Symbol.for brand), while subclasses keep
 *   ordinary `instanceof`;
 * - Nest's `WsExceptionsHandler` and `BaseWsExceptionFilter` prototypes are
 *   wrapped once for both copies (a process-wide marker);
 * - an app whose adapter is one copy and whose filters are the other answers
 *   a failing message with exactly one frame (a real `ws` client on
 *   127.0.0.1), the other copy's filter finding the adapter's pending reply;
 * - the other copy's global WsExceptionFilter is applied, and the adapter
 *   shares the other copy's SwitchboardModule hub (both branded, found by
 *   brand), so the module's Broadcaster reaches the adapter's clients.
 *
 * What the process sees is gathered by fixtures/dual-package/hazard.mjs;
 * this file judges it. To save an npm install, the consumer is the packed
 * tarball unpacked into node_modules beside links to this repo's own
 * dependencies (the esm-nest12 consumer's list: Nest 12, rxjs, ws, ...).
 * The tarball is packed from the dist/ that `npm run build` made; a build
 * running meanwhile (packaging.spec.ts makes one) is waited for.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const SECOND = 1000;

/** Without Jest's NODE_OPTIONS and npm's variables for this repo, as on a user's machine. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NO_COLOR: '1' };
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(NODE_OPTIONS|INIT_CWD|FORCE_COLOR|npm_package_.*|npm_lifecycle_.*|npm_config_local_prefix)$/i.test(key)) {
      env[key] = value;
    }
  }
  return env;
}

/** Runs a command with a time limit; fails with its whole output. */
function run(command: string, args: string[], cwd: string, timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: childEnv(), timeout, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`\`${command} ${args.join(' ')}\` in ${cwd} failed: ${error.message}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** scripts/build.mjs removes dist/ first and writes these two files last, one per build. */
const BUILD_MARKERS = ['dist/esm/package.json', 'dist/cjs/package.json'].map((file) => join(REPO, file));

function buildStamp(): string | undefined {
  const stamps = BUILD_MARKERS.map((file) => statSync(file, { throwIfNoEntry: false }));
  return stamps.every((stamp) => stamp !== undefined) ? stamps.map((stamp) => `${stamp!.ino}:${stamp!.mtimeMs}`).join(' ') : undefined;
}

/**
 * `npm pack` of the built library, into `destination`. A build that ran
 * during the pack (its markers removed or rewritten) means a pack of half a
 * build: packed again once the build is done.
 */
async function packBuiltLibrary(destination: string): Promise<string> {
  const deadline = Date.now() + 150 * SECOND;
  for (;;) {
    const before = buildStamp();
    if (before !== undefined) {
      let tarball: string | undefined;
      try {
        const [packed] = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', destination], REPO, 60 * SECOND)) as Array<{ filename: string }>;
        tarball = join(destination, packed.filename);
      } catch (error) {
        // Files vanishing under npm pack: a build started; anything else is a real failure.
        if (buildStamp() === before) {
          throw error;
        }
      }
      if (tarball !== undefined && buildStamp() === before) {
        return tarball;
      }
      if (tarball !== undefined) {
        rmSync(tarball, { force: true });
      }
    }
    if (Date.now() > deadline) {
      throw new Error('dist/ is missing or kept changing for 150 s: run `npm run build` first.');
    }
    await sleep(250);
  }
}

/** Links what an npm install of the esm-nest12 consumer would put in node_modules, from this repo's node_modules. */
function linkDependencies(consumer: string): void {
  const fixture = JSON.parse(readFileSync(join(FIXTURES, 'esm-nest12', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const library = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const names = new Set([...Object.keys(fixture.dependencies), ...Object.keys(library.dependencies)]);
  for (const name of names) {
    if (name === 'nestjs-switchboard' || name.startsWith('@types/')) {
      continue;
    }
    const target = join(REPO, 'node_modules', ...name.split('/'));
    if (!existsSync(target)) {
      throw new Error(`${name} is not installed in ${REPO}node_modules (npm ci)`);
    }
    const link = join(consumer, 'node_modules', ...name.split('/'));
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(target, link, 'dir');
  }
}

/** One frame as the client parsed it. */
type Frame = Record<string, unknown>;

interface AppReport {
  adapter: 'esm' | 'cjs';
  others: 'esm' | 'cjs';
  globalFilterWithId: Frame[];
  globalFilterWithoutId: Frame[];
  localFilterWithId: Frame[];
  localFilterWithoutId: Frame[];
  failuresSent: number;
  handlerErrorsCounted: number;
  broadcasterDelivered: number | string;
  broadcasterFrames: Frame[];
}

interface Report {
  resolved: { cjs: string; esm: string };
  distinctClasses: Record<string, boolean>;
  bridgeInstalledOnLoad: boolean;
  errors: Record<string, boolean>;
  sockets: Record<string, boolean>;
  apps: AppReport[];
  bridge: { markedAfterFirstAdapter: boolean; wrapsNest: boolean; wrappedOnce: boolean };
}

/** What the filters of the app answer (their mapper turns the handlers' TeapotError into TEAPOT). */
const teapotAck = (id: string, message: string): Frame => ({ id, status: 'error', error: { code: 'TEAPOT', message } });
const teapotEvent = (message: string): Frame => ({ event: 'exception', data: { status: 'error', code: 'TEAPOT', message } });

describe('the dual-package hazard: both builds in one process', () => {
  let workDir: string | undefined;
  let report: Report;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'switchboard-dual-package-'));
    const tarball = await packBuiltLibrary(workDir);
    const consumer = join(workDir, 'consumer');
    const installed = join(consumer, 'node_modules', 'nestjs-switchboard');
    mkdirSync(installed, { recursive: true });
    cpSync(join(FIXTURES, 'dual-package'), consumer, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(FIXTURES, 'esm-nest12', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    manifest.dependencies['nestjs-switchboard'] = `file:${tarball}`;
    writeFileSync(join(consumer, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
    await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], workDir, 30 * SECOND);
    linkDependencies(consumer);

    const stdout = await run(process.execPath, ['hazard.mjs'], consumer, 40 * SECOND);
    const line = stdout.split('\n').find((candidate) => candidate.startsWith('DUAL-PACKAGE-REPORT '));
    if (line === undefined) {
      throw new Error(`hazard.mjs printed no report:\n${stdout}`);
    }
    report = JSON.parse(line.slice('DUAL-PACKAGE-REPORT '.length)) as Report;
  }, 200 * SECOND);

  afterAll(() => {
    if (workDir !== undefined) {
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('resolves require to dist/cjs and import to dist/esm of the installed package: two copies of every class', () => {
    const installed = `${sep}node_modules${sep}nestjs-switchboard${sep}dist${sep}`;
    expect(report.resolved.cjs).toContain(`${installed}cjs${sep}index.js`);
    expect(report.resolved.esm).toContain(`${installed}esm${sep}index.js`);
    expect(report.distinctClasses).toEqual({
      SwitchboardError: true,
      SwitchboardSocket: true,
      SwitchboardAdapter: true,
      WsExceptionFilter: true,
      SwitchboardModule: true,
      Broadcaster: true,
    });
  });

  it("answers instanceof SwitchboardError and SwitchboardSocket alike for either copy's instances", () => {
    expect(report.errors).toMatchObject({
      cjsInstanceofEsm: true,
      esmInstanceofCjs: true,
      cjsInstanceofCjs: true,
      esmInstanceofEsm: true,
      plainErrorInstanceofEither: false,
      nonObjectsInstanceofEither: false,
      fieldsKept: true,
    });
    expect(report.sockets).toEqual({ cjsInstanceofEsm: true, esmInstanceofCjs: true });
  });

  it('keeps ordinary instanceof for subclasses of SwitchboardError, which are SwitchboardErrors of both copies', () => {
    expect(report.errors).toMatchObject({
      esmSubInstanceofEsmSub: true,
      esmSubInstanceofEsm: true,
      esmSubInstanceofCjs: true,
      cjsSubInstanceofEsm: true,
      esmSubInstanceofCjsSub: false,
      cjsSubInstanceofEsmSub: false,
      esmErrorInstanceofEsmSub: false,
      cjsErrorInstanceofEsmSub: false,
      plainErrorInstanceofEsmSub: false,
    });
  });

  it("wraps Nest's exception handling once for both copies: the first adapter marks the prototype, the other copy's leaves it", () => {
    expect(report.bridgeInstalledOnLoad).toBe(false);
    expect(report.bridge).toEqual({ markedAfterFirstAdapter: true, wrapsNest: true, wrappedOnce: true });
  });

  it('passes every probe with one copy throughout (the control: the probes themselves work)', () => {
    const [control] = report.apps;
    expect(control).toMatchObject({ adapter: 'esm', others: 'esm' });
    expect(control.globalFilterWithId).toEqual([teapotAck('g1', 'short and stout')]);
    expect(control.globalFilterWithoutId).toEqual([teapotEvent('short and stout')]);
    expect(control.localFilterWithId).toEqual([teapotAck('l1', 'tip me over')]);
    expect(control.localFilterWithoutId).toEqual([teapotEvent('tip me over')]);
    expect(control.handlerErrorsCounted).toBe(control.failuresSent);
    expect(control.broadcasterDelivered).toBe(1);
    expect(control.broadcasterFrames).toEqual([{ event: 'news', data: 'through the Broadcaster' }]);
  });

  describe.each([
    ['esm', 'cjs'],
    ['cjs', 'esm'],
  ] as const)('an app whose adapter is the %s copy, with filters, SwitchboardModule and Broadcaster of the %s copy', (adapter, others) => {
    const app = (): AppReport => {
      const found = report.apps.find((candidate) => candidate.adapter === adapter && candidate.others === others);
      expect(found).toBeDefined();
      return found!;
    };

    it('answers a failing message with id with exactly one error ack, and no exception event', () => {
      const frames = app().globalFilterWithId;
      expect(frames).toHaveLength(1);
      expect(frames[0]).toMatchObject({ id: 'g1', status: 'error', error: { code: expect.any(String), message: expect.any(String) } });
    });

    it('lets a @UseFilters WsExceptionFilter of the other copy answer once: the error ack (it finds the pending reply) or the exception event', () => {
      expect(app().localFilterWithId).toEqual([teapotAck('l1', 'tip me over')]);
      expect(app().localFilterWithoutId).toEqual([teapotEvent('tip me over')]);
    });

    it('counts each failure once in the gateway stats', () => {
      expect(app().handlerErrorsCounted).toBe(app().failuresSent);
    });

    // WsExceptionFilter carries the cross-copy brand (lib/utils/brand.ts), so the global-filter lookup finds the other copy's.
    it("applies the other copy's global WsExceptionFilter (its mapper's code, with and without id)", () => {
      expect(app().globalFilterWithId).toEqual([teapotAck('g1', 'short and stout')]);
      expect(app().globalFilterWithoutId).toEqual([teapotEvent('short and stout')]);
    });

    // SwitchboardHub carries the brand and the adapter finds the module's hub by it (findProvidedHub), not by its own class.
    it("shares the hub of the other copy's SwitchboardModule, so its Broadcaster reaches the adapter's clients", () => {
      expect(app().broadcasterDelivered).toBe(1);
      expect(app().broadcasterFrames).toEqual([{ event: 'news', data: 'through the Broadcaster' }]);
    });
  });
});
