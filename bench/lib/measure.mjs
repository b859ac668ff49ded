// One measurement = one fresh server process (core 0) and one fresh load
// generator process (core 1), so no run inherits another's JIT state, heap
// or sockets. The orchestrator only waits on IPC while a window runs.
import { fileURLToPath } from 'node:url';
import { config } from './config.mjs';
import { foreignLoad, waitForQuiet } from './cpu.mjs';
import { request } from './ipc.mjs';
import { startPinned, stopChild } from './processes.mjs';

const SERVER_MAIN = fileURLToPath(new URL('../servers/main.mjs', import.meta.url));
const LOAD_MAIN = fileURLToPath(new URL('../load/main.mjs', import.meta.url));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every port a server of this run listened on, to check at the end that none is left open. */
export const usedPorts = [];

/**
 * Measures once the cores are quiet, and measures again when another process
 * took a share of a core during the window (CPU-bound scenarios only: the
 * memory figures do not depend on it). Every attempt is kept in the result.
 */
export async function measureCarefully(target, scenario) {
  const attempts = [];
  for (;;) {
    const quiet = await waitForQuiet(Object.values(config.cores), { thresholdPercent: config.quietPercent, maxWaitMs: 30_000 });
    const result = await measure(target, scenario);
    const foreign = result.cpu === undefined ? { core: null, points: 0 } : foreignLoad(result.cpu, config.cores);
    attempts.push({ quiet, foreign });
    if (foreign.points <= config.foreignLoadPoints || attempts.length > config.retries) {
      return { ...result, attempts };
    }
  }
}

async function measure(target, scenario) {
  const server = await startPinned({
    name: `server ${target.server}`,
    script: SERVER_MAIN,
    args: [target.server],
    nodeArgs: ['--expose-gc'],
    core: config.cores.server,
    fdLimit: config.fdLimit,
  });
  usedPorts.push(server.hello.port);
  let load;
  try {
    load = await startPinned({ name: 'load generator', script: LOAD_MAIN, core: config.cores.load, fdLimit: config.fdLimit });
    const common = { client: target.client, lean: config.wsClient === 'lean', port: server.hello.port, serverPid: server.pid };
    switch (scenario) {
      case 'echo':
        return await request(load, 'echo', { ...common, ...config.echo }, config.echo.warmupMs + config.echo.durationMs + 60_000);
      case 'churn':
        return await request(
          load,
          'churn',
          { ...common, ...config.churn },
          config.churn.warmupMs + config.churn.durationMs + 60_000,
        );
      case 'idle':
        return await measureIdle(server, load, common);
      default:
        throw new Error(`unknown scenario ${scenario}`);
    }
  } finally {
    if (load !== undefined) {
      await stopChild(load);
    }
    await stopChild(server);
  }
}

/**
 * Heap and RSS per idle connection: (usage with N clients - baseline) / N,
 * both taken after full GCs in the server. The baseline is taken after a
 * few connections were opened and closed, so one-time costs (lazily loaded
 * code, first-use caches) are not spread over the N connections.
 */
async function measureIdle(server, load, common) {
  const { concurrency, warmupConnections, settleMs, counts } = config.idle;
  await request(load, 'idleOpen', { ...common, total: warmupConnections, concurrency });
  await request(load, 'idleClose');
  await waitForConnections(server, 0);
  const baseline = await request(server, 'memory');

  const points = [];
  for (const count of counts) {
    const opened = await request(load, 'idleOpen', { ...common, total: count, concurrency }, 300_000);
    await sleep(settleMs);
    const usage = await request(server, 'memory');
    points.push({
      connections: count,
      serverSawConnections: usage.connections,
      heapUsedPerConnection: (usage.heapUsed - baseline.heapUsed) / count,
      rssPerConnection: (usage.rss - baseline.rss) / count,
      externalPerConnection: (usage.external - baseline.external) / count,
      usage,
      connect: opened,
    });
  }
  await request(load, 'idleClose', {}, 120_000);
  return { baseline, points };
}

/** Waits until the server holds `expected` TCP connections (closes are asynchronous on its side). */
async function waitForConnections(server, expected, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let count;
  while ((count = await request(server, 'connections')) !== expected) {
    if (Date.now() > deadline) {
      throw new Error(`server still has ${count} connections, expected ${expected}`);
    }
    await sleep(50);
  }
}
