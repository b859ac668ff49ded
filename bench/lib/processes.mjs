// Starts the benchmark's child processes pinned to one core each, with a
// raised fd limit, and makes sure every one of them is gone at the end.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

/** Every child started and not yet seen exiting, by pid. */
const live = new Map();

let hardFdLimit;

/** The hard RLIMIT_NOFILE of this shell: a soft limit above it cannot be set without privileges. */
export function fdLimitFor(wanted) {
  hardFdLimit ??= execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return hardFdLimit === 'unlimited' ? wanted : Math.min(wanted, Number(hardFdLimit));
}

/**
 * Runs `node [nodeArgs] script [args]` on one core with the fd limit raised.
 * `bash -c 'ulimit; exec taskset ... node'` keeps the pid: bash and taskset
 * both exec, so the pid we get is the node process (its /proc/<pid>/stat is
 * what the CPU figures read). Resolves once the child said hello over IPC;
 * the hello message is kept as `child.hello`.
 */
export async function startPinned({ name, script, args = [], nodeArgs = [], core, fdLimit }) {
  const limit = fdLimitFor(fdLimit);
  const child = spawn(
    'bash',
    ['-c', `ulimit -n ${limit} && exec taskset -c ${core} "$0" "$@"`, process.execPath, ...nodeArgs, script, ...args],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  child.benchName = name;
  live.set(child.pid, child);
  child.once('exit', () => live.delete(child.pid));
  const [hello] = await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code, signal]) => {
      throw new Error(`${name} exited (${signal ?? code}) before it was ready`);
    }),
  ]);
  if (hello?.type !== 'hello' || hello.pid !== child.pid) {
    throw new Error(`${name}: unexpected first message ${JSON.stringify(hello)} (pid ${child.pid})`);
  }
  child.hello = hello;
  return child;
}

/** Asks a child to stop, then kills it by pid if it has not exited after `graceMs`. */
export async function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = once(child, 'exit');
  if (child.connected) {
    child.send({ type: 'stop' });
  } else {
    child.kill('SIGTERM');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Last resort on an abnormal exit of the orchestrator: SIGKILL every child still alive, by pid. */
export function killAllChildren() {
  for (const [pid, child] of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    live.delete(child.pid);
  }
}

export function liveChildren() {
  return [...live.keys()];
}

/** Which of these TCP ports something still listens on (from /proc/net/tcp and tcp6). */
export function stillListening(ports) {
  const wanted = new Set(ports);
  const found = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let table;
    try {
      table = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of table.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // fields[1] is local "ADDRESS:PORT" in hex, fields[3] the state; 0A is LISTEN.
      if (fields[3] === '0A') {
        const port = parseInt(fields[1].split(':')[1], 16);
        if (wanted.has(port)) {
          found.add(port);
        }
      }
    }
  }
  return [...found];
}
