// `npm run start:cluster`: a local redis-server on a free port and two
// instances of the sample sharing rooms through it, on two ports; prints
// both URLs; Ctrl-C stops everything (each process by its pid).
//
//   node scripts/start-cluster.mjs [--ports 3001,3002] [--sources]
//
// The npm script builds first and runs sample/dist/main.js. `--sources` runs
// sample/src from its TypeScript sources instead (no build: the client bundle
// goes to a temporary directory). REDIS_URL set: that Redis is used, none is
// started.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const option = (name) => {
  const at = argv.indexOf(name);
  return at === -1 ? undefined : argv[at + 1];
};
const fromSources = argv.includes('--sources');
const wantedPorts = (option('--ports') ?? '3001,3002').split(',').map(Number);
const STOP_TIMEOUT = 5000;

const children = [];
let stopping = false;
let tempDir;

function log(line) {
  process.stdout.write(`[cluster] ${line}\n`);
}

function fail(message) {
  process.stderr.write(`[cluster] ${message}\n`);
  void stopAll(1);
}

/** A port free right now on 127.0.0.1: `wanted` if it is, else one the OS picks. */
function freePort(wanted = 0) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(wanted === 0 ? Promise.reject(new Error('no free port')) : freePort(0)));
    server.listen(wanted, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a child process with its output prefixed; remembered so that Ctrl-C stops it by pid. */
function start(name, command, args, env = {}) {
  // Own process groups: Ctrl-C reaches this script only, which stops the instances first, then Redis.
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const entry = { name, child, exited: new Promise((resolve) => child.once('exit', resolve)) };
  children.push(entry);
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        process.stdout.write(`[${name}] ${line}\n`);
      }
    });
  }
  child.once('error', () => undefined); // reported by the caller (ENOENT) or by 'exit'
  child.once('exit', (code, signal) => {
    if (!stopping) {
      log(`${name} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); the others keep running. Ctrl-C stops everything.`);
    }
  });
  return entry;
}

async function until(check, timeout, what) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not answer within ${timeout / 1000} s`);
}

function redisPing(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, 1000);
    socket.once('data', (data) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(String(data).startsWith('+PONG'));
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    socket.write('PING\r\n');
  });
}

async function startRedis() {
  if (process.env.REDIS_URL) {
    log(`using REDIS_URL=${process.env.REDIS_URL}`);
    return process.env.REDIS_URL;
  }
  const port = await freePort();
  const redis = start('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning']);
  const missing = await new Promise((resolve) => {
    redis.child.once('error', (error) => resolve(error.code === 'ENOENT'));
    redis.child.once('spawn', () => resolve(false));
  });
  if (missing) {
    children.splice(children.indexOf(redis), 1);
    throw new Error(
      'redis-server was not found on the PATH. Install it:\n' +
        '    Debian/Ubuntu:  sudo apt-get install redis-server\n' +
        '    macOS:          brew install redis\n' +
        '    Docker:         docker run --rm -p 6379:6379 redis:7   (then REDIS_URL=redis://127.0.0.1:6379 npm run start:cluster)\n' +
        '  or point REDIS_URL at a Redis you have.',
    );
  }
  await until(() => redisPing(port), 5000, `redis-server on port ${port}`);
  log(`redis-server (pid ${redis.child.pid}) on 127.0.0.1:${port}`);
  return `redis://127.0.0.1:${port}`;
}

/** What runs an instance: the built sample (after `npm run build` and `tsc -p sample/tsconfig.json`), or its sources. */
async function instanceCommand() {
  if (fromSources) {
    tempDir = mkdtempSync(join(tmpdir(), 'sb-cluster-client-'));
    const { buildClient } = await import('./build-client.mjs');
    await buildClient({ outfile: join(tempDir, 'client.js'), logLevel: 'error' });
    return { args: ['--enable-source-maps', '--import', './test/browser/support/register-ts.mjs', 'sample/src/main.ts'], env: { SAMPLE_CLIENT_JS: join(tempDir, 'client.js'), SAMPLE_EXIT_WITH_PARENT: '1' } };
  }
  if (!existsSync(join(ROOT, 'sample/dist/main.js'))) {
    throw new Error('sample/dist/main.js is missing: run `npm run start:cluster` (it builds first), or pass --sources.');
  }
  return { args: ['--enable-source-maps', 'sample/dist/main.js'], env: {} };
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // already exited
  }
}

async function stopAll(code = 0) {
  if (stopping) {
    return;
  }
  stopping = true;
  // The instances first (they close their clients with 1001), Redis last.
  for (const group of [children.filter((entry) => entry.name !== 'redis'), children.filter((entry) => entry.name === 'redis')]) {
    await Promise.all(
      group.map(async ({ name, child, exited }) => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
          return;
        }
        // Ctrl-C in a terminal also signals the children themselves; one may be gone already.
        signal(child.pid, 'SIGTERM');
        const timer = setTimeout(() => {
          log(`${name} (pid ${child.pid}) did not stop within ${STOP_TIMEOUT / 1000} s: SIGKILL`);
          signal(child.pid, 'SIGKILL');
        }, STOP_TIMEOUT);
        await exited;
        clearTimeout(timer);
        log(`stopped ${name} (pid ${child.pid})`);
      }),
    );
  }
  if (tempDir !== undefined) {
    rmSync(tempDir, { recursive: true, force: true });
  }
  process.exit(code);
}

process.on('SIGINT', () => void stopAll(0));
// Whatever ends this script, no child outlives it.
process.on('exit', () => {
  for (const { child } of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      signal(child.pid, 'SIGKILL');
    }
  }
});
process.on('SIGTERM', () => void stopAll(0));

try {
  const redisUrl = await startRedis();
  const ports = [await freePort(wantedPorts[0]), await freePort(wantedPorts[1])];
  if (ports[1] === ports[0]) {
    ports[1] = await freePort();
  }
  const { args, env } = await instanceCommand();
  const peers = ports.map((port) => `127.0.0.1:${port}`).join(',');
  const instances = ports.map((port, i) =>
    start(`sample ${'AB'[i]}`, process.execPath, args, { ...env, PORT: String(port), REDIS_URL: redisUrl, SAMPLE_PEERS: peers, NODE_OPTIONS: '' }),
  );
  await Promise.all(
    instances.map(({ name, child }, i) =>
      until(
        async () => {
          if (child.exitCode !== null) {
            throw new Error(`${name} exited with code ${child.exitCode}`);
          }
          return (await fetch(`http://127.0.0.1:${ports[i]}/config.json`, { signal: AbortSignal.timeout(1000) })).ok;
        },
        30_000,
        name,
      ),
    ),
  );
  log('');
  log(`Two instances sharing rooms through ${redisUrl}:`);
  instances.forEach(({ name, child }, i) => log(`  ${name}: http://localhost:${ports[i]}/?room=lobby   (pid ${child.pid})`));
  log('Open one URL per tab and chat in the same room. `kill -9 <pid>` of an instance moves its');
  log('pages to the other one, their sessions recovered. Ctrl-C stops everything.');
  log('');
} catch (error) {
  fail(error.message);
}
