// The brokers' engines for the cross-node benchmark: our own redis-server
// and nats-server, on free ports, pinned to the server core (with the
// nodes), stopped by pid at the end.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';

const REDIS = process.env.XNODE_REDIS_SERVER ?? '/usr/bin/redis-server';
const NATS = process.env.XNODE_NATS_SERVER ?? '/usr/sbin/nats-server';

/** A TCP port nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * redis-server without persistence. The pub/sub output buffer limit is
 * raised (default: 32 MB hard, 8 MB for 60 s) so the short overload steps
 * of the ramp cannot make Redis disconnect a slow subscriber: a
 * disconnect would lose messages for a reason that is not the stack's.
 */
export async function startRedis(core) {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--client-output-buffer-limit', 'pubsub 512mb 512mb 0', '--loglevel', 'warning'];
  const child = startEngine('redis-server', REDIS, args, core);
  await waitFor(child, port, (text) => text.includes('+PONG'), 'PING\r\n');
  return { name: 'redis', child, pid: child.pid, port, url: `redis://127.0.0.1:${port}`, version: await redisVersion(port) };
}

/** nats-server on the loopback, no monitoring port. */
export async function startNats(core) {
  const port = await freePort();
  const child = startEngine('nats-server', NATS, ['-a', '127.0.0.1', '-p', String(port)], core, 'ignore');
  await waitFor(child, port, (text) => text.startsWith('INFO '));
  return { name: 'nats', child, pid: child.pid, port, url: `nats://127.0.0.1:${port}` };
}

/** Engines started and not yet seen exiting. */
const live = new Set();

function startEngine(name, binary, args, core, stderr = 'inherit') {
  // taskset execs the engine: the pid is the engine's (its /proc/<pid>/stat is what the CPU figures read).
  const child = spawn('taskset', ['-c', String(core), binary, ...args], { stdio: ['ignore', 'ignore', stderr] });
  child.benchName = name;
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Last resort on an abnormal exit of the orchestrator: SIGKILL every engine still running, by pid. */
export function killAllEngines() {
  for (const child of live) {
    killEngine({ child });
  }
}

/** Stops an engine by its pid: SIGTERM, then SIGKILL after 3 s. */
export async function stopEngine(engine) {
  const { child } = engine;
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = once(child, 'exit');
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }, 3000);
  await exited;
  clearTimeout(timer);
}

/** Last resort on an abnormal exit: SIGKILL by pid. */
export function killEngine(engine) {
  if (engine.child.exitCode !== null || engine.child.signalCode !== null) {
    return; // Already gone (and its pid may belong to someone else by now).
  }
  try {
    process.kill(engine.child.pid, 'SIGKILL');
  } catch {
    // Gone.
  }
}

async function waitFor(child, port, answered, probe) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`${child.benchName} exited (${child.exitCode}) before answering on ${port}`);
    }
    if (await ask(port, answered, probe)) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`${child.benchName} did not answer on port ${port} within 10 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function ask(port, answered, probe) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => probe && socket.write(probe));
    socket.on('data', (chunk) => {
      text += chunk.toString();
      if (answered(text)) {
        done(true);
      }
    });
  });
}

async function redisVersion(port) {
  let version = 'unknown';
  await ask(port, (text) => {
    const match = /redis_version:([^\r\n]+)/.exec(text);
    if (match) {
      version = match[1];
      return true;
    }
    return false;
  }, 'INFO server\r\n');
  return version;
}
