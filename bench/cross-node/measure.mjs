// A group of stacks measured interleaved: every stack of the group is up at
// once (its nodes and its own engine on the server core, its own load
// generator on the load core), and they take turns, one step each: a core's
// speed on this shared VM drifts by tens of percent within a minute, so
// stacks measured one after the other would be measured on different
// machines. Only the stack whose turn it is carries load; the others idle.
//
// Per stack: connect and join every client, warm up, find the peak, measure
// the peak and the latency at half of it, read the nodes' reception
// counters. Everything that makes load (connects, joins, steps) holds the
// group's turn lock, granted in FIFO order, so the turns go round-robin.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForQuiet } from '../lib/cpu.mjs';
import { request } from '../lib/ipc.mjs';
import { startPinned, stopChild } from '../lib/processes.mjs';
import { config } from './config.mjs';
import { startNats, startRedis, stopEngine } from './engines.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

/** A FIFO mutex: `run(fn)` waits for the turns queued before it. */
class TurnLock {
  #tail = Promise.resolve();

  run(fn) {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => {});
    return result;
  }
}

/**
 * `items`: [{ stack, layout, run }] (stack: a stacks.mjs entry). Resolves
 * with one result (or { error }) per item, in order. `dist`: the build to
 * import; `profileDir`: node 0 of each stack records a V8 CPU profile of
 * its peak step.
 */
export async function measureGroup(items, { dist, log, profileDir }) {
  const lock = new TurnLock();
  const started = [];
  try {
    const quiet = await waitForQuiet([config.cores.server, config.cores.load], { thresholdPercent: config.quietPercent, maxWaitMs: config.quietMaxWaitMs });
    if (!quiet.quiet) {
      log(`cores still ${quiet.busiestPercent}% busy with other work after ${Math.round(quiet.waitedMs / 1000)} s; going on`);
    }
    for (const item of items) {
      const setup = { item, nodes: [], engine: undefined, generator: undefined, error: undefined };
      started.push(setup);
      try {
        await start(setup, dist);
      } catch (error) {
        setup.error = error;
        log(`${tag(item)} FAILED to start: ${String(error?.message ?? error).split('\n')[0]}`);
      }
    }
    log(`group of ${items.length} up: ${started.map((setup) => `${tag(setup.item)} (nodes ${setup.nodes.map((node) => node.pid).join(',')}${setup.engine ? `, ${setup.engine.name} ${setup.engine.pid}` : ''})`).join('; ')}`);
    return await Promise.all(
      started.map((setup) =>
        setup.error !== undefined
          ? { error: setup.error?.stack ?? String(setup.error) }
          : procedure(setup, lock, { log, profileDir }).catch((error) => {
              log(`${tag(setup.item)} FAILED: ${String(error?.message ?? error).split('\n')[0]}`);
              return { error: error?.stack ?? String(error) };
            }),
      ),
    );
  } finally {
    for (const setup of started) {
      if (setup.generator !== undefined) {
        await stopChild(setup.generator);
      }
      await Promise.all(setup.nodes.map((node) => stopChild(node)));
      if (setup.engine !== undefined) {
        await stopEngine(setup.engine);
      }
    }
  }
}

const tag = (item) => `[${item.layout} ${item.stack.name} run ${item.run}]`;

/** The stack's own engine, its nodes and its generator, pinned. */
async function start(setup, dist) {
  const { stack } = setup.item;
  if (stack.engine === 'redis') {
    setup.engine = await startRedis(config.cores.server);
  } else if (stack.engine === 'nats') {
    setup.engine = await startNats(config.cores.server);
  }
  const nodeOptions = { ...stack.node, dist, redisUrl: setup.engine?.url, natsUrl: setup.engine?.url };
  for (let index = 0; index < stack.nodes; index++) {
    setup.nodes.push(
      await startPinned({
        name: `${stack.name} node ${index}`,
        script: join(HERE, 'node.mjs'),
        args: [JSON.stringify(nodeOptions)],
        core: config.cores.server,
        fdLimit: config.fdLimit,
      }),
    );
  }
  setup.generator = await startPinned({ name: `${stack.name} generator`, script: join(HERE, 'generator.mjs'), core: config.cores.load, fdLimit: config.fdLimit });
}

async function procedure(setup, lock, { log, profileDir }) {
  const { item, nodes, engine, generator } = setup;
  const { stack, layout } = item;
  const say = (message) => log(`${tag(item)} ${message}`);
  const pids = Object.fromEntries(nodes.map((node, index) => [`node${index}`, node.pid]));
  const coreOf = Object.fromEntries(Object.keys(pids).map((name) => [name, config.cores.server]));
  if (engine !== undefined) {
    pids.engine = engine.pid;
    coreOf.engine = config.cores.server;
  }
  coreOf.generator = config.cores.load;
  const clients = config.rooms * config.roomSize;

  const opened = await lock.run(async () => {
    const result = await request(
      generator,
      'open',
      { protocol: stack.protocol, client: config.client, ports: nodes.map((node) => node.hello.port), layout, rooms: config.rooms, roomSize: config.roomSize, concurrency: config.concurrency },
      180_000,
    );
    await sleep(config.settleMs);
    return result;
  });
  const joinedStats = await Promise.all(nodes.map((node) => request(node, 'stats')));
  const connections = joinedStats.reduce((sum, stats) => sum + stats.connections, 0);
  if (connections !== clients) {
    throw new Error(`the nodes hold ${connections} connections, expected ${clients}`);
  }
  say(`${opened.clients} clients joined in ${opened.seconds.toFixed(1)} s (per node ${opened.perNode.join('/')}; rooms per node ${joinedStats.map((stats) => stats.rooms).join('/')})`);

  // Every step takes a turn, waits for quiet cores first (the machine is shared), and is repeated,
  // up to `retries` times, when other processes disturbed it (isDisturbed).
  let disturbedRepeats = 0;
  const step = (label, rate, durationMs, around = {}) =>
    lock.run(async () => {
      for (let attempt = 0; ; attempt++) {
        // The latency step wants both cores quiet, the others the server core (see isDisturbed).
        const cores = label === 'half' ? [config.cores.server, config.cores.load] : [config.cores.server];
        const calm = await waitForQuiet(cores, { thresholdPercent: config.quietPercent, sampleMs: 200, maxWaitMs: 20_000 });
        const before = await around.before?.(attempt);
        const result = await request(generator, 'step', { label, rate, durationMs, pids, coreOf, stallMs: config.stallMs }, 180_000);
        await around.after?.(result, before);
        await sleep(config.gapMs);
        result.waitedForQuietMs = calm.waitedMs;
        result.foreignByCore = foreignByCore(result.cpu, coreOf);
        result.disturbed = isDisturbed(result, label);
        // The warm-up measures nothing: never repeated.
        if (!result.disturbed || attempt >= config.retries || label === 'warmup') {
          say(describe(result));
          return result;
        }
        disturbedRepeats++;
        say(`(${label} ${Math.round(rate)}/s disturbed: other processes took ${result.foreignByCore.server} points of the server core, ${result.foreignByCore.load} of the load core; again)`);
      }
    });
  const keptUp = (result) => result.missingAtEnd === 0 && result.deliveriesPerSecond >= config.keepUp * result.offeredDeliveriesPerSecond;
  const describe = (result) =>
    `${result.label} ${Math.round(result.rate)}/s: ${Math.round(result.deliveriesPerSecond)} deliveries/s (offered ${Math.round(result.offeredDeliveriesPerSecond)})` +
    `${result.missingAtEnd > 0 ? `, ${result.missingAtEnd} MISSING` : ''}, p50 ${fmt(result.latencyMs.p50)} p99 ${fmt(result.latencyMs.p99)} ms, ` +
    `cpu nodes ${Math.round(nodesPercent(result))}%${engine ? ` ${engine.name} ${Math.round(result.cpu.percent.engine)}%` : ''} gen ${Math.round(result.cpu.percent.generator)}%` +
    `${result.foreign.points > config.foreignLoadPoints ? `, other load ${result.foreignByCore.server}/${result.foreignByCore.load} pts on the server/load core` : ''}${keptUp(result) ? '' : ' (behind)'}`;

  const before = await Promise.all(nodes.map((node) => request(node, 'stats')));
  const warmup = await step('warmup', config.warmupRate, (clients * config.warmupRounds * 1000) / config.warmupRate);
  if (warmup.missingAtEnd > 0) {
    throw new Error(`warm-up: ${warmup.missingAtEnd} of ${warmup.expected} deliveries missing (routing not ready?)`);
  }

  // Peak search: geometric ramp, then refine between the best rate that kept up and the first that did not.
  const ramp = [];
  let best;
  let failed;
  for (let rate = config.rampStart, i = 0; i < config.rampMaxSteps; i++, rate *= config.rampFactor) {
    const result = await step('ramp', rate, config.rampMs);
    ramp.push(result);
    if (!keptUp(result)) {
      failed = result;
      break;
    }
    best = result;
  }
  // Behind already at the start rate (a cold or disturbed stack): step down.
  for (let i = 0; i < 3 && best === undefined; i++) {
    const result = await step('ramp', failed.rate / config.rampFactor, config.rampMs);
    ramp.push(result);
    if (keptUp(result)) {
      best = result;
    } else {
      failed = result;
    }
  }
  for (let i = 0; i < config.refineSteps && failed !== undefined && best !== undefined; i++) {
    const low = best.rate;
    const high = failed.rate;
    // An overloaded step drains at about the stack's capacity: aim just under it first, then bisect.
    const capacity = failed.deliveriesPerSecond / (config.roomSize - 1);
    const rate = i === 0 && capacity > low * 1.03 && capacity < high * 0.97 ? capacity * 0.98 : (low + high) / 2;
    if (rate < low * 1.02) {
      break;
    }
    const result = await step('refine', rate, config.rampMs);
    ramp.push(result);
    if (keptUp(result)) {
      best = result;
    } else {
      failed = result;
    }
  }
  if (best === undefined) {
    throw new Error(`did not keep up even at ${Math.round(failed.rate)} broadcasts/s`);
  }

  // The peak step at the best rate (5% lower, up to `retries` times, when it falls behind over the longer step).
  let peak;
  const peakSteps = [];
  let peakRate = best.rate;
  let peakAttempts = 0;
  let cpuProbe;
  for (let attempt = 0; attempt <= config.retries; attempt++) {
    peakAttempts++;
    const profiling = profileDir !== undefined && attempt === 0;
    peak = await step('peak', peakRate, config.peakMs, {
      before: async (repeat) => {
        if (repeat === 0 && attempt === 0) {
          cpuProbe = await request(nodes[0], 'cpuProbe', {});
        }
        if (profiling && repeat === 0) {
          await request(nodes[0], 'cpuProfileStart', { intervalMicros: 200 });
          return true;
        }
        return false;
      },
      after: async (result, profiled) => {
        if (profiled) {
          result.profile = await request(nodes[0], 'cpuProfileStop', { file: join(profileDir, `${stack.name}-${layout}-run${item.run}-node0.cpuprofile`) });
        }
      },
    });
    peakSteps.push(peak);
    if (keptUp(peak)) {
      break;
    }
    peakRate *= 0.95;
  }
  // None kept up (the core slowed down since the ramp, or the ramp's step was lucky): the best
  // rate the longer peak steps sustained, not the shorter ramp step's.
  if (!keptUp(peak)) {
    peak = peakSteps.reduce((a, b) => (b.deliveriesPerSecond > a.deliveriesPerSecond ? b : a));
  }
  const peakDeliveries = peak.deliveriesPerSecond;

  // Latency at half the peak, with the nodes' GC pauses during the step (where a tail may come from).
  const half = await step('half', peakDeliveries / 2 / (config.roomSize - 1), config.halfMs, {
    before: () => Promise.all(nodes.map((node) => request(node, 'gcWindow'))),
    after: async (result) => {
      result.gc = await Promise.all(nodes.map((node) => request(node, 'gcWindow')));
    },
  });

  const after = await Promise.all(nodes.map((node) => request(node, 'stats')));
  const totals = await request(generator, 'totals');
  say(
    `=> ${Math.round(peakDeliveries)} deliveries/s, p99 at half ${fmt(half.latencyMs.p99)} ms, lost ${totals.lost}, dup ${totals.duplicates}, misrouted ${totals.misrouted + totals.invalid}`,
  );
  return {
    stack: stack.name,
    layout,
    client: config.client,
    engine: engine === undefined ? null : { name: engine.name, version: engine.version ?? null },
    cpuProbe,
    opened,
    joinedStats,
    warmup,
    ramp,
    peak,
    peakKeptUp: keptUp(peak),
    peakAttempts,
    peakSteps: peakSteps.length > 1 ? peakSteps.map((step) => ({ rate: step.rate, deliveriesPerSecond: step.deliveriesPerSecond, keptUp: keptUp(step) })) : undefined,
    peakDeliveriesPerSecond: peakDeliveries,
    half,
    disturbedRepeats,
    totals,
    receptions: receptionsOf(before, after),
    nodeStats: after,
  };
}

/** What the nodes received from the engine over the measurement (warm-up to half-peak step), per broadcast and per node. */
function receptionsOf(before, after) {
  const perNode = after.map((stats, index) => {
    const diff = {};
    for (const [key, value] of Object.entries(stats)) {
      diff[key] = typeof value === 'number' && typeof before[index][key] === 'number' ? value - before[index][key] : value;
    }
    return diff;
  });
  const sum = (key) => perNode.reduce((total, stats) => total + (typeof stats[key] === 'number' ? stats[key] : 0), 0);
  const originated = sum('originated');
  const receptions = sum('receptions');
  const withoutRecipient = sum('withoutRecipient');
  const ownEchoes = sum('ownEchoes');
  return {
    /** Ours: the cluster's control messages (heartbeats), not broadcasts. */
    controlMessages: sum('controlMessages'),
    /** Context switches of the node processes over the measurement, per broadcast (voluntary: waiting for input; involuntary: preempted). */
    voluntarySwitchesPerBroadcast: originated > 0 ? sum('voluntarySwitches') / originated : null,
    involuntarySwitchesPerBroadcast: originated > 0 ? sum('involuntarySwitches') / originated : null,
    broadcasts: originated,
    receptions,
    withoutRecipient,
    ownEchoes,
    receptionsPerBroadcast: originated > 0 ? receptions / originated : null,
    withoutRecipientPerBroadcast: originated > 0 ? withoutRecipient / originated : null,
    ownEchoesPerBroadcast: originated > 0 ? ownEchoes / originated : null,
    /** Of what reached the nodes, the share that had no recipient there. */
    wastedShare: receptions > 0 ? withoutRecipient / receptions : null,
    perNode,
  };
}

/** Points of each core's busy time that were not our processes (see ../lib/cpu.mjs foreignLoad). */
function foreignByCore(cpu, coreOf) {
  const points = {};
  for (const [role, core] of Object.entries(config.cores)) {
    const ours = Object.entries(coreOf)
      .filter(([, where]) => where === core)
      .reduce((sum, [name]) => sum + (cpu.percent[name] ?? 0), 0);
    points[role] = Math.max(0, Math.round((cpu.coreBusyPercent[core] ?? 0) - ours));
  }
  return points;
}

/**
 * Other work on the server core disturbs any step. On the load core it
 * disturbs the latency step (the generator's own timing), and the others
 * only when that core was full (the generator may have had to wait).
 */
function isDisturbed(result, label) {
  const { server, load } = result.foreignByCore;
  if (server > config.foreignLoadPoints) {
    return true;
  }
  if (load <= config.foreignLoadPoints) {
    return false;
  }
  return label === 'half' || (result.cpu.coreBusyPercent[config.cores.load] ?? 0) >= 90;
}

export function nodesPercent(result) {
  return Object.entries(result.cpu.percent)
    .filter(([name]) => name.startsWith('node'))
    .reduce((sum, [, percent]) => sum + percent, 0);
}

const fmt = (value) => (value === null || value === undefined ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(1));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
