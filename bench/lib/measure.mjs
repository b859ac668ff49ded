// The orchestrator's side of a measurement: start the processes, drive the
// steps over IPC, aggregate, stop every process again.
//
// - Idle memory: one fresh server at a time (its heap baseline must be its own).
// - Echo and connection rate: all servers of the scenario at once, driven in
//   interleaved slices (see config.mjs for why).
import { fileURLToPath } from 'node:url';
import { config } from './config.mjs';
import { waitForQuiet } from './cpu.mjs';
import { request } from './ipc.mjs';
import { startPinned, stopChild } from './processes.mjs';

const SERVER_MAIN = fileURLToPath(new URL('../servers/main.mjs', import.meta.url));
const LOAD_MAIN = fileURLToPath(new URL('../load/main.mjs', import.meta.url));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every port a server of this run listened on, to check at the end that none is left open. */
export const usedPorts = [];

async function startServer(target) {
  const server = await startPinned({
    name: `server ${target.name}`,
    script: SERVER_MAIN,
    args: [target.server],
    nodeArgs: ['--expose-gc'],
    core: config.cores.server,
    fdLimit: config.fdLimit,
  });
  usedPorts.push(server.hello.port);
  return server;
}

function startLoad() {
  return startPinned({ name: 'load generator', script: LOAD_MAIN, core: config.cores.load, fdLimit: config.fdLimit });
}

/** Starts processes with `start()`, runs `body(processes)`, and stops every started process whatever happens. */
async function withProcesses(body) {
  const started = [];
  try {
    return await body(async (start) => {
      const child = await start();
      started.push(child);
      return child;
    });
  } finally {
    await Promise.all(started.map((child) => stopChild(child)));
  }
}

async function quietCores() {
  return waitForQuiet(Object.values(config.cores), { thresholdPercent: config.quietPercent, maxWaitMs: 30_000 });
}

/** Times a fixed CPU loop in short windows on the server core (see cpu-probe.mjs). */
export async function probeServerCore(target) {
  return withProcesses(async (start) => {
    const server = await start(() => startServer(target));
    return request(server, 'cpuProbe', {}, 30_000);
  });
}

/**
 * Heap and RSS per idle connection: (usage with N clients - baseline) / N,
 * both taken after full GCs in the server. The baseline is taken after a
 * few connections were opened and closed, so one-time costs (lazily loaded
 * code, first-use caches) are not spread over the N connections.
 */
export async function measureIdle(target) {
  const quiet = await quietCores();
  return withProcesses(async (start) => {
    const server = await start(() => startServer(target));
    const load = await start(startLoad);
    const common = { client: target.client, lean: config.wsClient === 'lean', port: server.hello.port, serverPid: server.pid };
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
    return { baseline, points, quiet };
  });
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

/**
 * Echo or connection rate for several targets at once: every target's server
 * runs (idle until its turn), one warm-up slice per target, then rounds of
 * one measured slice per target in a rotating order. A slice disturbed by
 * another process is run again (up to `config.retries` times). Returns one
 * result per target name.
 */
export async function measureInterleaved(scenario, targets, runIndex) {
  const params = config[scenario];
  const quiet = await quietCores();
  return withProcesses(async (start) => {
    const servers = new Map();
    for (const target of targets) {
      servers.set(target.name, await start(() => startServer(target)));
    }
    const load = await start(startLoad);
    const pids = { load: load.pid };
    const coreOf = { load: config.cores.load };
    for (const [name, server] of servers) {
      pids[`server:${name}`] = server.pid;
      coreOf[`server:${name}`] = config.cores.server;
    }
    const lean = config.wsClient === 'lean';
    const timeout = params.warmupMs + params.sliceMs + 60_000;

    const runSlice = (target, warmupMs, durationMs) => {
      const slice = { name: target.name, warmupMs, durationMs, pids, coreOf, foreignLoadPoints: config.foreignLoadPoints };
      if (scenario === 'echo') {
        return request(load, 'echoSlice', slice, timeout);
      }
      const { port } = servers.get(target.name).hello;
      return request(load, 'churnSlice', { ...slice, client: target.client, lean, port, parallel: params.parallel }, timeout);
    };

    if (scenario === 'echo') {
      const endpoints = targets.map((target) => ({ name: target.name, client: target.client, port: servers.get(target.name).hello.port }));
      await request(load, 'echoOpen', { targets: endpoints, clients: params.clients, inflight: params.inflight, lean });
    }
    for (const target of targets) {
      await runSlice(target, params.warmupMs, 0);
      await sleep(config.sliceGapMs);
    }

    const slices = new Map(targets.map((target) => [target.name, []]));
    const discarded = new Map(targets.map((target) => [target.name, 0]));
    const rounds = Math.max(1, Math.round(params.durationMs / params.sliceMs));
    for (let round = 0; round < rounds; round++) {
      // A different order every round (and run), so no target always follows the same one.
      const shift = round + runIndex;
      for (const target of targets.map((_, index) => targets[(index + shift) % targets.length])) {
        for (let attempt = 0; ; attempt++) {
          const slice = await runSlice(target, params.sliceWarmupMs, params.sliceMs);
          await sleep(config.sliceGapMs);
          if (slice.kept || attempt >= config.retries) {
            slices.get(target.name).push(slice);
            break;
          }
          discarded.set(target.name, discarded.get(target.name) + 1);
        }
      }
    }

    const finish = scenario === 'echo' ? await request(load, 'echoFinish', {}, 120_000) : {};
    return Object.fromEntries(
      targets.map((target) => [
        target.name,
        aggregate(scenario, target.name, slices.get(target.name), finish[target.name], discarded.get(target.name), quiet),
      ]),
    );
  });
}

/** Sums a target's kept slices into one result (rates over the total measured time, CPU time-weighted). */
function aggregate(scenario, name, slices, finish, discarded, quiet) {
  const seconds = slices.reduce((sum, slice) => sum + slice.cpu.seconds, 0);
  const weighted = (pick) => slices.reduce((sum, slice) => sum + (pick(slice.cpu) ?? 0) * slice.cpu.seconds, 0) / seconds;
  const server = `server:${name}`;
  const cores = Object.keys(slices[0]?.cpu.coreBusyPercent ?? {});
  const cpu = {
    seconds,
    percent: { server: weighted((c) => c.percent[server]), load: weighted((c) => c.percent.load) },
    userPercent: { server: weighted((c) => c.userPercent[server]), load: weighted((c) => c.userPercent.load) },
    systemPercent: { server: weighted((c) => c.systemPercent[server]), load: weighted((c) => c.systemPercent.load) },
    coreBusyPercent: Object.fromEntries(cores.map((core) => [core, weighted((c) => c.coreBusyPercent[core])])),
  };
  const common = {
    cpu,
    slices: slices.map(({ cpu: sliceCpu, ...rest }) => ({ ...rest, seconds: sliceCpu.seconds, serverPercent: sliceCpu.percent[server], loadPercent: sliceCpu.percent.load })),
    discardedSlices: discarded,
    disturbedSlicesKept: slices.filter((slice) => !slice.kept).length,
    quiet,
  };
  const serverCpuSeconds = (cpu.percent.server / 100) * seconds;
  if (scenario === 'echo') {
    const replies = slices.reduce((sum, slice) => sum + slice.replies, 0);
    return {
      messagesPerSecond: replies / seconds,
      replies,
      ...finish,
      serverCpuMicrosPerMessage: replies > 0 ? (serverCpuSeconds * 1e6) / replies : null,
      repliesMissingAfterDrain: slices.reduce((sum, slice) => sum + slice.missingAfterDrain, 0),
      ...common,
    };
  }
  const cycles = slices.reduce((sum, slice) => sum + slice.cycles, 0);
  return {
    connectionsPerSecond: cycles / seconds,
    cycles,
    errors: slices.reduce((sum, slice) => sum + slice.errors, 0),
    firstError: slices.find((slice) => slice.firstError)?.firstError,
    serverCpuMicrosPerConnection: cycles > 0 ? (serverCpuSeconds * 1e6) / cycles : null,
    ...common,
  };
}
