// Installs Nest 11 for the second Jest run (jest.nest11.config.js), unless
// test/nest11/node_modules already holds exactly what the lockfile pins: then
// it costs about a hundred small file reads, so `npm test` stays quick. CI
// runs `npm ci --prefix test/nest11` itself, and this finds it done.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const lock = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'));

/** The first locked package that is missing or at another version, if any. */
function firstMismatch() {
  if (!existsSync(join(here, 'node_modules'))) {
    return 'Nest 11 is not installed';
  }
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.optional === true) {
      continue; // The project itself; optional packages may be absent on this platform.
    }
    const manifest = join(here, path, 'package.json');
    if (!existsSync(manifest)) {
      return `${path} is missing`;
    }
    const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
    if (version !== entry.version) {
      return `${path} is ${version}, the lockfile pins ${entry.version}`;
    }
  }
  return undefined;
}

const mismatch = firstMismatch();
if (mismatch !== undefined) {
  console.log(`test/nest11: ${mismatch}; running npm ci --prefix test/nest11`);
  // --prefer-offline: the npm cache answers when it can (offline re-installs), the registry otherwise.
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // Without the variables the outer `npm test` set for the root package, which would point npm back at it.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(INIT_CWD|npm_package_.*|npm_lifecycle_.*|npm_config_local_prefix)$/i.test(key)));
  const result = spawnSync(npm, ['ci', '--prefix', here, '--no-audit', '--no-fund', '--prefer-offline'], { stdio: 'inherit', env, shell: process.platform === 'win32' });
  if (result.status !== 0) {
    console.error('test/nest11: npm ci failed; the Nest 11 tests cannot run');
    process.exit(result.status ?? 1);
  }
}
