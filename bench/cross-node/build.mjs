// The cross-node benchmark's own build of nestjs-switchboard, so it never
// touches dist/ (other runs use it) and always measures committed code:
// `git archive <commit> lib package.json tsconfig*.json` (package.json: its
// "type": "module" makes tsc emit ESM) into a scratch folder, then
// `tsc -p tsconfig.build.json --outDir $XNODE_DIST` (ESM only), with a
// package.json saying "module" and a node_modules symlink beside it so the
// build resolves this checkout's packages (one copy of Nest and ws).
//
//   XNODE_DIST        where the build goes (default /tmp/xnode-dist/esm)
//   XNODE_COMMIT      what to build (default HEAD)
//   XNODE_BUILD=1     rebuild even if the build matches lib/ of that commit
//   XNODE_BUILD=0     never build; use XNODE_DIST as it is (say what it is with XNODE_SOURCE)
//
// `node bench/cross-node/build.mjs` builds and prints what it built.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = process.env.XNODE_DIST ?? '/tmp/xnode-dist/esm';

const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** Builds when needed; returns what the build is ({ dist, commit, libTree, built }). */
export function ensureDist(log = () => {}) {
  const infoFile = join(DIST, 'build-info.json');
  if (process.env.XNODE_BUILD === '0') {
    if (!existsSync(join(DIST, 'index.js'))) {
      throw new Error(`XNODE_BUILD=0 but ${DIST}/index.js does not exist`);
    }
    const info = existsSync(infoFile) ? JSON.parse(readFileSync(infoFile, 'utf8')) : {};
    return { dist: DIST, ...info, source: process.env.XNODE_SOURCE ?? info.source ?? 'unknown build', built: false };
  }
  const commit = git('rev-parse', '--short', process.env.XNODE_COMMIT ?? 'HEAD');
  const libTree = git('rev-parse', `${commit}:lib`);
  if (process.env.XNODE_BUILD !== '1' && existsSync(infoFile)) {
    const info = JSON.parse(readFileSync(infoFile, 'utf8'));
    if (info.libTree === libTree && existsSync(join(DIST, 'index.js'))) {
      return { dist: DIST, ...info, built: false };
    }
  }
  log(`building nestjs-switchboard ${commit} (lib tree ${libTree.slice(0, 10)}) into ${DIST}`);
  const scratch = join(dirname(DIST), 'src');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  execFileSync('bash', ['-c', `git archive ${commit} lib package.json tsconfig.json tsconfig.build.json | tar -x -C "${scratch}"`], { cwd: ROOT, stdio: 'inherit' });
  symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'));
  rmSync(DIST, { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  let typeErrors = null;
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', DIST], { cwd: scratch, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    // tsc emits despite type errors; keep them for the report, fail only when nothing was emitted.
    typeErrors = String(error.stdout ?? error.message).trim().split('\n').slice(0, 5).join('\n');
    if (!existsSync(join(DIST, 'index.js'))) {
      throw new Error(`tsc emitted nothing:\n${typeErrors}`);
    }
  }
  writeFileSync(join(DIST, 'package.json'), '{"type":"module"}\n');
  // Bare imports of the build (ws, @nestjs/*, ioredis, nats) resolve from here: this checkout's node_modules.
  const modules = join(dirname(DIST), 'node_modules');
  rmSync(modules, { force: true });
  symlinkSync(join(ROOT, 'node_modules'), modules);
  const info = { commit, libTree, source: `git ${commit} (lib tree ${libTree.slice(0, 10)})`, builtAt: new Date().toISOString(), typeErrors };
  writeFileSync(infoFile, JSON.stringify(info, null, 2));
  return { dist: DIST, ...info, built: true };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(ensureDist(console.log), null, 2));
}
