// Facts about the machine and the code under test, recorded with every result.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const PACKAGES = [
  '@nestjs/core',
  '@nestjs/common',
  '@nestjs/websockets',
  '@nestjs/platform-ws',
  '@nestjs/platform-socket.io',
  '@nestjs/platform-express',
  'ws',
  'socket.io',
  'socket.io-client',
  'rxjs',
];

export function machineFacts(root) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const versions = {};
  for (const name of PACKAGES) {
    try {
      // Read from node_modules directly: some packages do not export ./package.json.
      versions[name] = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      versions[name] = 'not installed';
    }
  }
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return {
    date: new Date().toISOString(),
    cpuModel: model,
    cpus: os.cpus().length,
    cpusAllowed: /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? null,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    packages: { [own.name]: `${own.version} (${gitDescription(root)})`, ...versions },
  };
}

/** The commit under test; outside a git checkout (an exported copy), BENCH_SOURCE says what it is. */
function gitDescription(root) {
  try {
    const quiet = { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] };
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], quiet).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], quiet).trim();
    return dirty === '' ? `git ${commit}` : `git ${commit} + uncommitted changes in lib/`;
  } catch {
    return process.env.BENCH_SOURCE ?? 'not a git checkout';
  }
}

/** The newest modification time under a directory (for a stale-build check). */
export function newestMtime(dir) {
  let newest = 0;
  const visit = (path) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) {
        visit(join(path, entry));
      }
    } else {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  visit(dir);
  return newest;
}

