// Figures of the cross-node benchmark: per measurement (metricsOf), per
// stack and layout over the runs (summarize: medians, and same-run ratios
// to socket.io classic), and the markdown section for bench/RESULTS.md.
import { median } from '../lib/stats.mjs';
import { config } from './config.mjs';
import { REFERENCE, STACKS, stackNamed } from './stacks.mjs';

/** The figures of one measurement (one stack, one layout, one run). */
export function metricsOf(result) {
  if (result.error) {
    return { error: result.error };
  }
  const { peak, half } = result;
  const cpuMicros = (step, filter) => {
    const seconds = step.cpu.seconds;
    const cpuSeconds = Object.entries(step.cpu.percent)
      .filter(([name]) => filter(name))
      .reduce((sum, [, percent]) => sum + (percent / 100) * seconds, 0);
    return step.received > 0 ? (cpuSeconds / step.received) * 1e6 : null;
  };
  const isNode = (name) => name.startsWith('node');
  const nodesPercent = (step) => Object.entries(step.cpu.percent).filter(([name]) => isNode(name)).reduce((sum, [, percent]) => sum + percent, 0);
  return {
    deliveriesPerSecond: result.peakDeliveriesPerSecond,
    peakKeptUp: result.peakKeptUp,
    peakRate: peak.rate,
    crossNodeShare: peak.crossNodeShare,
    nodesMicrosPerDelivery: cpuMicros(peak, isNode),
    engineMicrosPerDelivery: peak.cpu.percent.engine === undefined ? null : cpuMicros(peak, (name) => name === 'engine'),
    generatorMicrosPerDelivery: cpuMicros(peak, (name) => name === 'generator'),
    nodesPercent: nodesPercent(peak),
    enginePercent: peak.cpu.percent.engine ?? null,
    generatorPercent: peak.cpu.percent.generator,
    serverCoreBusy: peak.cpu.coreBusyPercent?.[config.cores.server] ?? null,
    loadCoreBusy: peak.cpu.coreBusyPercent?.[config.cores.load] ?? null,
    peakP99: peak.latencyMs.p99,
    halfDeliveriesPerSecond: half.deliveriesPerSecond,
    halfP50: half.latencyMs.p50,
    halfP99: half.latencyMs.p99,
    halfP999: half.latencyMs.p999,
    halfMax: half.latencyMs.max,
    halfNodesMicrosPerDelivery: cpuMicros(half, isNode),
    halfEngineMicrosPerDelivery: half.cpu.percent.engine === undefined ? null : cpuMicros(half, (name) => name === 'engine'),
    halfGeneratorPercent: half.cpu.percent.generator,
    halfMaxSendLagMs: half.maxSendLagMs,
    halfGcMaxMs: half.gc === undefined ? null : Math.max(...half.gc.map((gc) => gc.maxMs)),
    halfGcTotalMs: half.gc === undefined ? null : half.gc.reduce((sum, gc) => sum + gc.totalMs, 0),
    halfRetransmits: half.net?.retransSegs ?? null,
    messages: result.totals.messages,
    expectedDeliveries: result.totals.expected,
    lost: result.totals.lost,
    duplicates: result.totals.duplicates,
    misrouted: result.totals.misrouted + result.totals.invalid,
    receptionsPerBroadcast: result.receptions.receptionsPerBroadcast,
    withoutRecipientPerBroadcast: result.receptions.withoutRecipientPerBroadcast,
    ownEchoesPerBroadcast: result.receptions.ownEchoesPerBroadcast,
    wastedShare: result.receptions.wastedShare,
    switchesPerBroadcast:
      result.receptions.voluntarySwitchesPerBroadcast === undefined || result.receptions.voluntarySwitchesPerBroadcast === null
        ? null
        : result.receptions.voluntarySwitchesPerBroadcast + result.receptions.involuntarySwitchesPerBroadcast,
    perNode: result.receptions.perNode.map((node) => ({
      originated: node.originated,
      receptions: node.receptions,
      withoutRecipient: node.withoutRecipient,
      ownEchoes: node.ownEchoes,
    })),
    disturbed: [result.peak, result.half].some((step) => step.disturbed),
    disturbedRepeats: result.disturbedRepeats,
    generatorBound: peak.cpu.percent.generator >= config.generatorBoundPercent || (peak.cpu.coreBusyPercent?.[config.cores.load] ?? 0) >= 97,
    cpuProbe: median(result.cpuProbe.opsPerMs),
  };
}

const KEYS = [
  'deliveriesPerSecond',
  'nodesMicrosPerDelivery',
  'engineMicrosPerDelivery',
  'generatorMicrosPerDelivery',
  'nodesPercent',
  'enginePercent',
  'generatorPercent',
  'serverCoreBusy',
  'loadCoreBusy',
  'crossNodeShare',
  'peakP99',
  'halfP50',
  'halfP99',
  'halfP999',
  'halfNodesMicrosPerDelivery',
  'halfGeneratorPercent',
  'halfGcMaxMs',
  'halfGcTotalMs',
  'halfRetransmits',
  'receptionsPerBroadcast',
  'withoutRecipientPerBroadcast',
  'ownEchoesPerBroadcast',
  'wastedShare',
  'switchesPerBroadcast',
  'cpuProbe',
];

/**
 * `measurements`: [{ run, layout, stack, result }]. Per layout and stack:
 * the median of each figure over the runs, the runs' values, and the
 * median of the same-run ratios to socket.io classic (deliveries/s, CPU
 * per delivery) where the reference ran in that run and layout.
 */
export function summarize(measurements) {
  const summary = {};
  for (const measurement of measurements) {
    measurement.metrics ??= metricsOf(measurement.result);
  }
  // Rows in the order of stacks.mjs, layout A first.
  const rank = (name) => STACKS.findIndex((stack) => stack.name === name);
  const ordered = [...measurements].sort((a, b) => a.layout.localeCompare(b.layout) || rank(a.stack) - rank(b.stack));
  for (const { layout, stack } of ordered) {
    summary[layout] ??= {};
    if (summary[layout][stack] !== undefined) {
      continue;
    }
    const mine = measurements.filter((m) => m.layout === layout && m.stack === stack && !m.metrics.error);
    const failed = measurements.filter((m) => m.layout === layout && m.stack === stack && m.metrics.error);
    const entry = { runs: mine.length, failed: failed.map((m) => ({ run: m.run, error: m.metrics.error.split('\n')[0] })), values: {}, median: {}, versus: {} };
    for (const key of KEYS) {
      entry.values[key] = mine.map((m) => m.metrics[key]);
      entry.median[key] = median(entry.values[key].filter((value) => value !== null && value !== undefined));
    }
    entry.lost = mine.reduce((sum, m) => sum + m.metrics.lost, 0);
    entry.duplicates = mine.reduce((sum, m) => sum + m.metrics.duplicates, 0);
    entry.misrouted = mine.reduce((sum, m) => sum + m.metrics.misrouted, 0);
    entry.expectedDeliveries = mine.reduce((sum, m) => sum + m.metrics.expectedDeliveries, 0);
    entry.generatorBound = mine.some((m) => m.metrics.generatorBound);
    entry.disturbed = mine.some((m) => m.metrics.disturbed);
    entry.peakFellBehind = mine.some((m) => !m.metrics.peakKeptUp);
    entry.perNode = mine[0]?.metrics.perNode;
    for (const key of ['deliveriesPerSecond', 'nodesMicrosPerDelivery', 'halfP99']) {
      const ratios = mine.map((m) => {
        const reference = measurements.find((r) => r.run === m.run && r.layout === layout && r.stack === REFERENCE && !r.metrics.error);
        const base = reference?.metrics[key];
        return base && m.metrics[key] !== null ? m.metrics[key] / base : null;
      });
      entry.versus[key] = { ratios, median: median(ratios.filter((value) => value !== null)) };
    }
    // Nodes and engine together, against the reference's nodes and engine.
    const totalRatios = mine.map((m) => {
      const reference = measurements.find((r) => r.run === m.run && r.layout === layout && r.stack === REFERENCE && !r.metrics.error);
      if (reference === undefined) {
        return null;
      }
      const total = (metrics) => metrics.nodesMicrosPerDelivery + (metrics.engineMicrosPerDelivery ?? 0);
      return total(m.metrics) / total(reference.metrics);
    });
    entry.versus.totalMicrosPerDelivery = { ratios: totalRatios, median: median(totalRatios.filter((value) => value !== null)) };
    summary[layout][stack] = entry;
  }
  return summary;
}

/** Goals of issue 11 §8 for ours on Redis, layout A; layout B: no wasted reception. */
export function goals(summary) {
  const ours = summary.A?.['switchboard-redis'];
  const reference = summary.A?.[REFERENCE];
  if (ours === undefined || reference === undefined || ours.runs === 0 || reference.runs === 0) {
    return [];
  }
  const list = [
    {
      goal: `deliveries/s ≥ ${config.goals.rateRatio}× socket.io classic`,
      value: `${fmtRatio(ours.versus.deliveriesPerSecond.median)} (${fmtInt(ours.median.deliveriesPerSecond)} vs ${fmtInt(reference.median.deliveriesPerSecond)})`,
      met: ours.versus.deliveriesPerSecond.median >= config.goals.rateRatio,
    },
    {
      goal: `server CPU per delivery (nodes summed) ≤ ${config.goals.cpuRatio}× socket.io classic`,
      value: `${fmtRatio(ours.versus.nodesMicrosPerDelivery.median)} (${fmtMicros(ours.median.nodesMicrosPerDelivery)} vs ${fmtMicros(reference.median.nodesMicrosPerDelivery)} µs; with the engine ${fmtRatio(ours.versus.totalMicrosPerDelivery.median)})`,
      met: ours.versus.nodesMicrosPerDelivery.median <= config.goals.cpuRatio,
    },
    {
      goal: `p99 publish-to-receive ≤ ${config.goals.p99Ms} ms at half our peak`,
      value: `${fmtMs(ours.median.halfP99)} ms (runs: ${ours.values.halfP99.map(fmtMs).join(', ')})`,
      met: ours.median.halfP99 <= config.goals.p99Ms,
    },
    {
      goal: '0 lost, 0 duplicated deliveries',
      value: `${ours.lost} lost, ${ours.duplicates} duplicated of ${fmtInt(ours.expectedDeliveries)}`,
      met: ours.lost === 0 && ours.duplicates === 0 && ours.misrouted === 0,
    },
  ];
  const oursB = summary.B?.['switchboard-redis'];
  const referenceB = summary.B?.[REFERENCE];
  if (oursB?.runs > 0 && referenceB?.runs > 0) {
    list.push({
      goal: 'layout B: zero wasted receptions (socket.io classic: (N-1)/N)',
      value: `${fmtDec(oursB.median.withoutRecipientPerBroadcast)} per broadcast vs ${fmtDec(referenceB.median.withoutRecipientPerBroadcast)} (${fmtPct(referenceB.median.wastedShare)} of its receptions)`,
      met: oursB.median.withoutRecipientPerBroadcast === 0,
    });
  }
  return list;
}

export function renderSection({ date, machine, build, engines, measurements, summary, startedAt, finishedAt, resultsDir, notes }) {
  const lines = [];
  lines.push(`## Cross-node fan-out (issue 11 §8), ${date.slice(0, 10)}`, '');
  lines.push(
    `\`node bench/cross-node/run.mjs${config.quick ? ' --quick' : ''}\`, ${new Date(startedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
      `${((finishedAt - startedAt) / 60000).toFixed(1)} min; nestjs-switchboard ${build.source}; ${machine.cpuModel}, ${machine.cpus} cores, ${machine.kernel}, Node ${machine.node}; ` +
      `Redis ${engines.redis?.version ?? '-'}, nats-server ${engines.natsVersion ?? '-'}; ${Object.entries(machine.packages).map(([name, version]) => `${name} ${version}`).join(', ')}. ` +
      `Raw figures: \`${resultsDir}/\`.${config.quick ? ' **Quick mode: one run, short steps; for development, not comparable with a full run.**' : ''}`,
    '',
  );
  const goalList = goals(summary);
  if (goalList.length > 0) {
    lines.push('Goals (ours on Redis, layout A unless said; same-run ratios, medians of the runs):', '');
    lines.push('| Goal | Measured | Met |', '|---|---|---|');
    for (const goal of goalList) {
      lines.push(`| ${goal.goal} | ${goal.value} | ${goal.met ? 'yes' : '**no**'} |`);
    }
    lines.push('');
  }
  for (const layout of Object.keys(summary)) {
    lines.push(
      layout === 'A'
        ? '### Layout A: every room spread over the 3 nodes (4/3/3 members), plus the single-process ceilings'
        : '### Layout B: every room entirely on one node (a broadcast needs no other node)',
      '',
    );
    lines.push(
      '| Stack | Runs | Deliveries/s (peak) | × socket.io classic | p99 at half peak | Server CPU µs/delivery (nodes summed) | × | Engine CPU at peak | Generator CPU at peak | Lost | Duplicated | Receptions per broadcast (all nodes): without recipient / own echo / total |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const [name, entry] of Object.entries(summary[layout])) {
      const m = entry.median;
      if (entry.runs === 0) {
        lines.push(`| ${name} | 0 | failed: ${entry.failed.map((f) => f.error).join('; ')} |  |  |  |  |  |  |  |  |  |`);
        continue;
      }
      const engineName = stackNamed(name).engine;
      lines.push(
        `| ${name} | ${entry.runs} | ${fmtInt(m.deliveriesPerSecond)}${entry.runs > 1 ? ` (${entry.values.deliveriesPerSecond.map(fmtK).join(', ')})` : ''}${entry.generatorBound ? ' ⚑gen' : ''} ` +
          `| ${name === REFERENCE ? '1' : fmtRatio(entry.versus.deliveriesPerSecond.median)} ` +
          `| ${fmtMs(m.halfP99)} ms${entry.runs > 1 ? ` (${entry.values.halfP99.map(fmtMs).join(', ')})` : ''} ` +
          `| ${fmtMicros(m.nodesMicrosPerDelivery)} | ${name === REFERENCE ? '1' : fmtRatio(entry.versus.nodesMicrosPerDelivery.median)} ` +
          `| ${engineName === null ? '-' : `${engineName} ${fmtPct100(m.enginePercent)} (${fmtMicros(m.engineMicrosPerDelivery)} µs/delivery)`} ` +
          `| ${fmtPct100(m.generatorPercent)} | ${entry.lost} | ${entry.duplicates}${entry.misrouted > 0 ? ` (+${entry.misrouted} misrouted)` : ''} ` +
          `| ${stackNamed(name).nodes === 1 ? '- (one process)' : `${fmtDec(m.withoutRecipientPerBroadcast)} / ${fmtDec(m.ownEchoesPerBroadcast)} / ${fmtDec(m.receptionsPerBroadcast)}`} |`,
      );
    }
    lines.push('');
    lines.push('Details at the peak and at half of it (medians):', '');
    lines.push(
      '| Stack | Cross-node share of deliveries | Server core busy at peak | Nodes CPU at peak | Nodes+engine µs/delivery (× socket.io classic) | p50 / p99 / p99.9 at half peak | Nodes µs/delivery at half peak | Nodes\' GC at half peak: longest pause / total | Nodes\' context switches per broadcast | CPU probe (ops/ms) | Notes |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const [name, entry] of Object.entries(summary[layout])) {
      if (entry.runs === 0) {
        continue;
      }
      const m = entry.median;
      const notesOf = [];
      if (entry.generatorBound) {
        notesOf.push('generator at its limit (⚑gen): the figure is the generator\'s');
      }
      if (entry.peakFellBehind) {
        notesOf.push('peak step fell behind in a run (best ramp step used)');
      }
      if (entry.disturbed) {
        notesOf.push('a step stayed disturbed by other processes after retries');
      }
      if (entry.failed.length > 0) {
        notesOf.push(`${entry.failed.length} run(s) failed: ${entry.failed.map((f) => f.error).join('; ')}`);
      }
      lines.push(
        `| ${name} | ${m.crossNodeShare === null ? '-' : fmtPct(m.crossNodeShare)} | ${fmtPct100(m.serverCoreBusy)} | ${fmtPct100(m.nodesPercent)} ` +
          `| ${fmtMicros(m.nodesMicrosPerDelivery + (m.engineMicrosPerDelivery ?? 0))} (${name === REFERENCE ? '1' : fmtRatio(entry.versus.totalMicrosPerDelivery.median)}) ` +
          `| ${fmtMs(m.halfP50)} / ${fmtMs(m.halfP99)} / ${fmtMs(m.halfP999)} ms | ${fmtMicros(m.halfNodesMicrosPerDelivery)} | ${m.halfGcMaxMs === null ? '-' : `${fmtMs(m.halfGcMaxMs)} / ${fmtMs(m.halfGcTotalMs)} ms`} | ${fmtDec(m.switchesPerBroadcast)} | ${fmtInt(m.cpuProbe)} | ${notesOf.join('; ')} |`,
      );
    }
    lines.push('');
    if (layout === 'B') {
      lines.push('Receptions per node in layout B (first run; over warm-up, ramp, peak and half-peak steps): broadcasts the node originated, payloads it received from the engine, of which with no recipient there, and own echoes:', '');
      lines.push('| Stack | Node 0 | Node 1 | Node 2 |', '|---|---|---|---|');
      for (const [name, entry] of Object.entries(summary[layout])) {
        if (entry.perNode === undefined) {
          continue;
        }
        lines.push(`| ${name} | ${entry.perNode.map((node) => `${fmtInt(node.originated)} sent, ${fmtInt(node.receptions)} received, ${fmtInt(node.withoutRecipient)} without recipient, ${fmtInt(node.ownEchoes)} own echoes`).join(' | ')} |`);
      }
      lines.push('');
    }
  }
  lines.push('### Method', '');
  lines.push(...methodParagraphs());
  if (notes.length > 0) {
    lines.push('### Notes on this run', '');
    for (const note of notes) {
      lines.push(`- ${note}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

function methodParagraphs() {
  const recipients = config.roomSize - 1;
  const clients = config.rooms * config.roomSize;
  return [
    `**Servers.** Each stack runs as 3 Nest 12 applications, one process each (one process for the single-process ceilings), pinned with \`taskset\` to core ${config.cores.server} together with the stack's own engine: a \`redis-server\` (no persistence; pub/sub output buffer limit raised so the short overload steps of the ramp cannot disconnect a subscriber) or a \`nats-server\`. ` +
      `Every node runs the same gateway (\`bench/cross-node/node.mjs\`): \`join\` awaits \`client.join(room)\` and answers \`joined\`; \`say\` does \`client.to(body.room).emit('said', body)\`, so each broadcast goes to the other ${recipients} members of the sender's room, wherever they are connected. ` +
      `Ours: \`SwitchboardModule.forRoot({ broker })\` + \`new SwitchboardAdapter(app)\`, with \`new RedisBroker({ redis: url })\` (classic pub/sub; \`pubsub: 'sharded'\` for the sharded row) or \`new NatsBroker({ servers: url })\`. socket.io: Nest's \`IoAdapter\` (@nestjs/platform-socket.io) with \`server.adapter(createAdapter(pub, sub))\` or \`createShardedAdapter(pub, sub)\` (ioredis clients; dynamic subscription mode, the default) set in \`createIOServer\`, as Nest's documentation shows, so both sides pay the same Nest dispatch per message. ` +
      `Ceilings: one process with every client, ours with the module's in-memory hub (no payload is built for other nodes), socket.io with its default in-memory adapter. ` +
      `The library is built from the commit named above into a scratch folder (\`bench/cross-node/build.mjs\`), never from the working tree.`,
    '',
    `**Load.** One generator process per stack, pinned to core ${config.cores.load}, opens ${clients.toLocaleString('en-US')} clients (${(clients / 3).toLocaleString('en-US')} per node), each joined to one of ${config.rooms} rooms of ${config.roomSize}. Layout A: member m of room r is on node (r + m) mod 3, so every room has 4/3/3 members on the three nodes and 73% of the deliveries cross nodes; layout B: room r is entirely on node r mod 3, so none does. ` +
      `Clients: ${config.client === 'lean' ? 'the lean WebSocket client of `bench/load/clients/lean-ws.mjs` for both protocols (for socket.io it speaks engine.io v4 + socket.io v5 over the websocket transport, answering pings), so both cost the generator about the same per delivery and the comparison is of the servers (`XNODE_CLIENT=package`: the `ws` package and socket.io-client instead)' : 'the `ws` package for ours and socket.io-client (websocket transport only) for socket.io'}. ` +
      `Every \`say\` carries a 256-byte JSON body \`{"seq","t","room","pad"}\` (each protocol's envelope on top); the senders rotate over all clients (so over rooms and nodes) at a controlled total rate: every millisecond the generator sends what is due, so at the peak hundreds of broadcasts are in flight. ` +
      `Each message id must reach each of the other ${recipients} members once: a bit per member and message counts duplicates and, at the end, every delivery that never came (lost); a delivery to a client of another room counts as misrouted. Latency is publish-to-receive with both ends in the generator (one clock).`,
    '',
    `**Procedure.** Per stack and layout: connect and join every client, check that the nodes hold them all, wait ${config.settleMs} ms, warm up (every client sends ${config.warmupRounds === 1 ? 'once' : `${config.warmupRounds} times`} at ${config.warmupRate.toLocaleString('en-US')} broadcasts/s, every delivery checked), then search the peak: steps of ${config.rampMs / 1000} s from ${config.rampStart} broadcasts/s (${(config.rampStart * recipients).toLocaleString('en-US')} deliveries/s), ×${config.rampFactor} while the step keeps up, then ${config.refineSteps} step(s) between the last rate that kept up and the first that did not (first just under the overloaded step's drain rate, then bisecting). ` +
      `A step keeps up when every delivery arrived and its deliveries per second, from its first send to its last delivery, are at least ${config.keepUp * 100}% of the offered rate (a queue growing during the step fails it). The peak step runs ${config.peakMs / 1000} s at the best rate found (5% lower, again, when it falls behind); its deliveries/s are the peak and its CPU the CPU figures: CPU time (user + system, all threads, from \`/proc/<pid>/stat\`) of every node process, of the engine and of the generator, over the step and its drain, divided by the step's deliveries. ` +
      `The latency step runs ${config.halfMs / 1000} s at half the peak's deliveries/s; its p99 is over every delivery of the step. Lost and duplicated count every message of every step. ` +
      `Receptions: what each node's broker client received from the engine over all steps, per broadcast, summed over the nodes. Ours: the hub's counters (\`Broadcaster.clusterStats()\`: broadcasts \`received\` and delivered, \`ownEchoes\`, \`receivedWithoutRecipient\`, \`receivedAllExcluded\`, \`duplicateCopies\`; the cluster's own control messages, one heartbeat per node per second, are in \`broker.received\` but not counted here). socket.io: a counting listener beside the adapter's on its subscriber client (a string slice and a Map lookup per message); a reception is without recipient when the node has no member of the channel's room; own echoes are the node's own broadcasts, which its own subscription returns (the adapter drops them by uid).`,
    '',
    `**Interleaving and noise.** The stacks of a group (run 1: every stack of layout A, then every stack of layout B; runs 2..${config.runs}: the headline pair) are all up at once and take turns, one step each, so every stack is measured over the same minutes (a core's speed on this shared VM drifts by tens of percent within a minute; the CPU probe column shows it). ` +
      `Every step first waits (up to 20 s) for the server core to be under ${config.quietPercent}% busy (both cores for the latency step), and is repeated (up to ${config.retries} times) when other processes took more than ${config.foreignLoadPoints} points of the server core during it, or of the load core during the latency step or while that core was full (busy time from \`/proc/stat\` minus our processes on that core; the warm-up is never repeated). ` +
      `The headline pair runs ${config.runs} time(s), every other stack once; ratios are to socket.io classic of the same run and layout (medians of the runs' ratios). A generator at ${config.generatorBoundPercent}% of its core or more at the peak marks the figure as the generator's (⚑gen). ` +
      `No published cross-node figure for socket.io exists to compare with; to our knowledge these are the first, measured this way.`,
    '',
  ];
}

const fmtInt = (value) => (value === null || value === undefined ? '-' : Math.round(value).toLocaleString('en-US'));
const fmtK = (value) => (value === null || value === undefined ? '-' : `${(value / 1000).toFixed(1)}k`);
const fmtRatio = (value) => (value === null || value === undefined ? '-' : `${value.toFixed(2)}×`);
const fmtMs = (value) => (value === null || value === undefined ? '-' : value < 10 ? value.toFixed(1) : value.toFixed(0));
const fmtMicros = (value) => (value === null || value === undefined || Number.isNaN(value) ? '-' : value.toFixed(1));
const fmtPct = (value) => (value === null || value === undefined ? '-' : `${Math.round(value * 100)}%`);
const fmtPct100 = (value) => (value === null || value === undefined ? '-' : `${Math.round(value)}%`);
const fmtDec = (value) => (value === null || value === undefined ? '-' : value.toFixed(2));

export const format = { fmtInt, fmtK, fmtRatio, fmtMs, fmtMicros, fmtPct, fmtPct100, fmtDec };
