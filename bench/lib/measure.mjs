// The orchestrator's side of a measurement: start the processes, drive the
// steps over IPC, aggregate, stop every process again.
//
// - Idle memory and compression memory: one fresh server at a time (its
//   heap baseline must be its own).
// - Echo and connection rate: all servers of the scenario at once, driven in
//   interleaved slices (see config.mjs for why).
// - Fan-out: all servers of the scenario at once, each with its own load
//   generator process, driven in interleaved bursts.
import { fileURLToPath } from 'node:url';
import { config } from './config.mjs';
import { waitForQuiet } from './cpu.mjs';
import { request } from './ipc.mjs';
import { startPinned, stopChild } from './processes.mjs';
import { FANOUT } from './wire.mjs';

const SERVER_MAIN = fileURLToPath(new URL('../servers/main.mjs', import.meta.url));
const LOAD_MAIN = fileURLToPath(new URL('../load/main.mjs', import.meta.url));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every port a server of this run listened on, to check at the end that none is left open. */
export const usedPorts = [];

/** `app`: the gateway the server runs, 'echo' (echo, idle, churn, compression) or 'fanout'. */
async function startServer(target, app = 'echo') {
  const server = await startPinned({
    name: `server ${target.name}`,
    script: SERVER_MAIN,
    args: [target.server, JSON.stringify({ app, gateway: target.gateway ?? {} })],
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
 * code, first-use caches) are not spread over the N connections. The
 * compression scenario passes its own parameters and client (`ws-deflate`,
 * whose connect exchanges one compressible message).
 */
export async function measureIdle(target, params = config.idle) {
  const quiet = await quietCores();
  return withProcesses(async (start) => {
    const server = await start(() => startServer(target));
    const load = await start(startLoad);
    const client = params.client ?? target.client;
    const lean = params.client === undefined && config.wsClient === 'lean';
    const common = { client, lean, port: server.hello.port, serverPid: server.pid };
    const { concurrency, warmupConnections, settleMs, counts } = params;
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

    const runSlice = (target, warmupMs, durationMs, lastAttempt = false) => {
      const slice = { name: target.name, warmupMs, durationMs, pids, coreOf, foreignLoadPoints: config.foreignLoadPoints, lastAttempt };
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
          const slice = await runSlice(target, params.sliceWarmupMs, params.sliceMs, attempt >= config.retries);
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

/**
 * Fan-out to one room of `size` members, for several targets at once:
 * every target's server runs with the fan-out gateway and gets its own
 * load generator process (the one holding `size` connections to it; fd
 * limits rule out one process for all), then bursts are interleaved like
 * slices: one warm-up burst per target, then rounds of one burst per target
 * in a rotating order. A burst disturbed by another process is repeated.
 */
export async function measureFanout(size, targets, runIndex) {
  const params = config.fanout;
  const quiet = await quietCores();
  return withProcesses(async (start) => {
    const servers = new Map();
    const loads = new Map();
    for (const target of targets) {
      servers.set(target.name, await start(() => startServer(target, 'fanout')));
    }
    for (const target of targets) {
      loads.set(target.name, await start(startLoad));
    }
    const pids = {};
    const coreOf = {};
    for (const target of targets) {
      pids[`server:${target.name}`] = servers.get(target.name).pid;
      coreOf[`server:${target.name}`] = config.cores.server;
      pids[`load:${target.name}`] = loads.get(target.name).pid;
      coreOf[`load:${target.name}`] = config.cores.load;
    }
    const leanFor = (target) => (target.client === 'socketio' ? params.socketIoClient === 'lean' : config.wsClient === 'lean');
    const room = `${FANOUT.room}-${size}`;
    const joins = {};
    for (const target of targets) {
      const server = servers.get(target.name);
      joins[target.name] = await request(
        loads.get(target.name),
        'fanoutOpen',
        { client: target.client, lean: leanFor(target), port: server.hello.port, count: size, room, concurrency: params.concurrency, serverPid: server.pid },
        600_000,
      );
      const members = await request(server, 'fanoutMembers', { room });
      if (members !== size) {
        throw new Error(`${target.name}: the server counts ${members} members in ${room}, ${size} joined`);
      }
    }

    const ticks = Math.max(1, Math.round(params.deliveriesPerBurst / size));
    const perTurn = Math.max(1, Math.round(params.yieldEvery / size));
    const nextSeq = new Map(targets.map((target) => [target.name, 0]));
    const warmupTicks = Math.max(1, Math.round(ticks * params.warmupShare));
    const burst = async (target, { count, measure, validate, lastAttempt }) => {
      const load = loads.get(target.name);
      const seqStart = nextSeq.get(target.name);
      nextSeq.set(target.name, seqStart + count);
      await request(load, 'fanoutArm', { seqStart, count, measure, validate, pids, coreOf, foreignLoadPoints: config.foreignLoadPoints });
      const sent = await request(servers.get(target.name), 'fanoutBroadcast', { room, seqStart, count, perTurn }, 300_000);
      const result = await request(load, 'fanoutCollect', { sent, stallMs: params.stallMs, lastAttempt }, 300_000);
      await sleep(config.sliceGapMs);
      return result;
    };

    const warmups = new Map();
    for (const target of targets) {
      warmups.set(target.name, await burst(target, { count: warmupTicks, measure: false, validate: true }));
    }
    const bursts = new Map(targets.map((target) => [target.name, []]));
    const discarded = new Map(targets.map((target) => [target.name, 0]));
    for (let round = 0; round < params.bursts; round++) {
      const shift = round + runIndex;
      for (const target of targets.map((_, index) => targets[(index + shift) % targets.length])) {
        for (let attempt = 0; ; attempt++) {
          const result = await burst(target, { count: ticks, measure: true, validate: false, lastAttempt: attempt >= config.retries });
          if (result.kept || attempt >= config.retries) {
            bursts.get(target.name).push(result);
            break;
          }
          discarded.set(target.name, discarded.get(target.name) + 1);
        }
      }
    }

    const results = {};
    for (const target of targets) {
      const finish = await request(loads.get(target.name), 'fanoutFinish', {}, 120_000);
      results[target.name] = aggregateFanout(target.name, size, ticks, perTurn, bursts.get(target.name), warmups.get(target.name), finish, joins[target.name], discarded.get(target.name), quiet);
    }
    return results;
  });
}

/** One target's bursts of one room size: rate over the summed burst times, CPU time-weighted, counts summed. */
function aggregateFanout(name, size, ticks, perTurn, bursts, warmup, finish, join, discarded, quiet) {
  const server = `server:${name}`;
  const load = `load:${name}`;
  const sum = (pick) => bursts.reduce((total, burst) => total + (pick(burst) ?? 0), 0);
  const deliveries = sum((burst) => burst.deliveries);
  const seconds = sum((burst) => burst.seconds);
  const windowSeconds = sum((burst) => burst.cpu.seconds);
  const weighted = (pick) => sum((burst) => (pick(burst.cpu) ?? 0) * burst.cpu.seconds) / windowSeconds;
  const cpuSeconds = (key) => sum((burst) => ((burst.cpu.percent[key] ?? 0) / 100) * burst.cpu.seconds);
  const all = [warmup, ...bursts];
  return {
    members: size,
    ticksPerBurst: ticks,
    broadcastsPerTurn: perTurn,
    deliveriesPerSecond: seconds > 0 ? deliveries / seconds : null,
    deliveries,
    seconds,
    latencyMs: finish.latencyMs,
    latencySamples: finish.latencySamples,
    serverCpuMicrosPerDelivery: deliveries > 0 ? (cpuSeconds(server) * 1e6) / deliveries : null,
    loadCpuMicrosPerDelivery: deliveries > 0 ? (cpuSeconds(load) * 1e6) / deliveries : null,
    // Share of the burst time the server's send loop ran: near 1, the receivers kept up.
    serverLoopShare: seconds > 0 ? sum((burst) => burst.serverLoopSeconds) / seconds : null,
    cpu: {
      seconds: windowSeconds,
      percent: { server: weighted((c) => c.percent[server]), load: weighted((c) => c.percent[load]) },
      userPercent: { server: weighted((c) => c.userPercent[server]), load: weighted((c) => c.userPercent[load]) },
      systemPercent: { server: weighted((c) => c.systemPercent[server]), load: weighted((c) => c.systemPercent[load]) },
    },
    // Exactly once, over every burst of this size (the warm-up included).
    expected: all.reduce((total, burst) => total + burst.expected, 0),
    lost: all.reduce((total, burst) => total + burst.lost, 0),
    duplicates: all.reduce((total, burst) => total + burst.duplicates, 0),
    invalid: all.reduce((total, burst) => total + burst.invalid, 0),
    validated: warmup.validated,
    serverCountedShort: all.filter((burst) => burst.serverCountedDeliveries !== null && burst.serverCountedDeliveries !== burst.expected).length,
    // Where the tail comes from: each measured burst's own p99, the server's walk over the room per broadcast, its GC pauses.
    spread: {
      burstP99Ms: bursts.map((burst) => burst.latencyMs?.p99 ?? null),
      walkMeanMs: sum((burst) => (burst.serverWalkMillis?.mean ?? 0) * burst.expected) / Math.max(1, sum((burst) => burst.expected)),
      walkMaxMs: Math.max(0, ...bursts.map((burst) => burst.serverWalkMillis?.max ?? 0)),
      gcCount: sum((burst) => burst.serverGc?.count),
      gcMajor: sum((burst) => burst.serverGc?.major),
      gcMillis: sum((burst) => burst.serverGc?.millis),
      gcMaxPauseMs: Math.max(0, ...bursts.flatMap((burst) => burst.serverGc?.pauses ?? [])),
    },
    bursts: bursts.map(({ cpu, ...rest }) => ({ ...rest, serverPercent: cpu.percent[server], loadPercent: cpu.percent[load], windowSeconds: cpu.seconds })),
    warmup: { ...warmup, cpu: undefined },
    join,
    discardedSlices: discarded,
    disturbedSlicesKept: bursts.filter((burst) => !burst.kept).length,
    quiet,
  };
}
