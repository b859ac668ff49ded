// The load generator of the cross-node benchmark, one process pinned to the
// load core by run.mjs: `node bench/cross-node/generator.mjs`. It holds
// every client of a stack (1,000 per node), each in one room, sends the
// `say` messages at a controlled total rate, and receives every `said`.
//
// Requests (over IPC, see ../lib/ipc.mjs):
//   open({ protocol, client, ports, layout, rooms, roomSize, concurrency })
//   step({ label, rate, durationMs, pids, coreOf, stallMs, maxDrainMs })
//   totals()
//
// Exactly once, by message id: message `seq` is sent by member s of room r;
// each of the other roomSize - 1 members must receive it once. A bit per
// member and message (`masks`) catches a second copy (duplicate) and, at
// the end, every copy that never came (lost). A delivery to a client of
// another room is counted as misrouted. Latency is publish-to-receive in
// this one process (`t` in the body is this process's clock), so no clock
// is shared between processes.
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { cpuWindow, foreignLoad } from '../lib/cpu.mjs';
import { serveRequests } from '../lib/ipc.mjs';
import { percentile, Samples } from '../lib/stats.mjs';
import { runPool, sleep } from '../load/pool.mjs';
import { joinRoom } from './clients.mjs';
import { epochNow, nodeOf, roomName } from './wire.mjs';

/** The generator's own GC pauses: a pause here delays every receipt behind it, so it shows in the latency. */
let gcPauses = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcPauses.push(entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

const MAX_MESSAGES = 1 << 22;
const msgRoom = new Uint16Array(MAX_MESSAGES);
const msgSender = new Uint8Array(MAX_MESSAGES);
const msgNode = new Uint8Array(MAX_MESSAGES);
const msgStep = new Uint16Array(MAX_MESSAGES);
const masks = new Uint16Array(MAX_MESSAGES);
const POPCOUNT = Uint8Array.from({ length: 1 << 10 }, (_, value) => value.toString(2).replaceAll('0', '').length);

/** Clients by sending order: index k is member floor(k / rooms) of room k % rooms, so consecutive sends rotate over rooms and nodes. */
let clients = [];
let setup;
let nextSeq = 0;
let nextSender = 0;
const steps = [];
const totals = { duplicates: 0, invalid: 0, misrouted: 0, late: 0 };

function deliveryHandler(client) {
  return (seq, t, receivedAt) => {
    if (seq < 0 || seq >= nextSeq) {
      totals.invalid++;
      return;
    }
    if (msgRoom[seq] !== client.room) {
      totals.misrouted++;
      return;
    }
    const bit = 1 << client.member;
    const mask = masks[seq];
    if ((mask & bit) !== 0) {
      totals.duplicates++;
      return;
    }
    masks[seq] = mask | bit;
    const step = steps[msgStep[seq]];
    step.received++;
    if (step.closed) {
      totals.late++;
    }
    if (client.node !== msgNode[seq]) {
      step.crossNode++;
    }
    step.samples.add(receivedAt - t);
    step.lastArrival = receivedAt;
    if (step.received === step.expected && step.allSent) {
      step.drained?.();
    }
  };
}

async function open({ protocol, client: kind, ports, layout, rooms, roomSize, concurrency }) {
  if (clients.length > 0) {
    throw new Error('already open');
  }
  setup = { protocol, kind, ports, layout, rooms, roomSize };
  const nodes = ports.length;
  const started = performance.now();
  const cpu = cpuWindow({ generator: process.pid });
  clients = await runPool(rooms * roomSize, concurrency, async (k) => {
    const room = k % rooms;
    const member = Math.floor(k / rooms);
    const node = nodeOf(layout, room, member, nodes);
    const client = { room, member, node, connection: undefined };
    client.connection = await joinRoom(protocol, kind, ports[node], roomName(room), deliveryHandler(client));
    return client;
  });
  const perNode = ports.map((_, node) => clients.filter((client) => client.node === node).length);
  return { clients: clients.length, perNode, seconds: (performance.now() - started) / 1000, cpu: cpu.stop() };
}

/**
 * One step: `rate` broadcasts per second (each to roomSize - 1 members)
 * for `durationMs`, then waits until every delivery of the step arrived, or
 * none came for `stallMs`, or `maxDrainMs` passed. The CPU window over
 * `pids` spans the sending and the drain, so it holds all the work of the
 * step's messages.
 */
async function step({ label, rate, durationMs, pids, coreOf, stallMs = 2000, maxDrainMs = 20_000 }) {
  const index = steps.length;
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const recipients = setup.roomSize - 1;
  const current = {
    label,
    rate,
    expected: total * recipients,
    received: 0,
    crossNode: 0,
    sent: 0,
    allSent: false,
    closed: false,
    samples: new Samples(1 << 16),
    lastArrival: 0,
    firstSeq: nextSeq,
    drained: undefined,
  };
  steps.push(current);
  const cpu = cpuWindow({ ...pids, generator: process.pid });
  const netBefore = netCounters();
  gcPauses = [];
  const startedAt = epochNow();
  let maxSendLagMs = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = epochNow();
      const due = Math.min(total, Math.floor(((now - startedAt) * rate) / 1000) + 1);
      if (due > current.sent + 1) {
        // How late the oldest due message goes out: the generator's own backlog.
        maxSendLagMs = Math.max(maxSendLagMs, now - (startedAt + (current.sent * 1000) / rate));
      }
      while (current.sent < due) {
        sendOne(index);
        current.sent++;
      }
      if (current.sent >= total) {
        resolve();
      } else {
        setTimeout(tick, 1);
      }
    };
    tick();
  });
  const lastSentAt = epochNow();
  current.allSent = true;
  await new Promise((resolve) => {
    if (current.received === current.expected) {
      resolve();
      return;
    }
    let seen = current.received;
    let quietSince = epochNow();
    const poll = setInterval(() => {
      const now = epochNow();
      if (current.received !== seen) {
        seen = current.received;
        quietSince = now;
      }
      if (now - quietSince >= stallMs || now - lastSentAt >= maxDrainMs) {
        finish();
      }
    }, 50);
    const finish = () => {
      clearInterval(poll);
      current.drained = undefined;
      resolve();
    };
    current.drained = finish;
  });
  const window = cpu.stop();
  const netAfter = netCounters();
  current.closed = true;
  const sorted = current.samples.sorted();
  const spanSeconds = ((current.lastArrival || lastSentAt) - startedAt) / 1000;
  const result = {
    label,
    rate,
    durationMs,
    sent: total,
    expected: current.expected,
    received: current.received,
    missingAtEnd: current.expected - current.received,
    offeredDeliveriesPerSecond: rate * recipients,
    // Deliveries of this step's messages over the time from its first send to its last delivery.
    deliveriesPerSecond: current.received / spanSeconds,
    sendSeconds: (lastSentAt - startedAt) / 1000,
    drainMs: Math.max(0, (current.lastArrival || lastSentAt) - lastSentAt),
    crossNodeShare: current.received > 0 ? current.crossNode / current.received : null,
    maxSendLagMs,
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted.length > 0 ? sorted[sorted.length - 1] : null,
    },
    cpu: window,
    foreign: foreignLoad(window, coreOf),
    // Machine-wide (other processes' traffic included): loopback packets dropped at a core's
    // input backlog, and the TCP recoveries that follow (a 200 ms RTO shows in the tail).
    net: Object.fromEntries(Object.keys(netAfter).map((key) => [key, netAfter[key] - netBefore[key]])),
    generatorGc: { count: gcPauses.length, totalMs: gcPauses.reduce((sum, ms) => sum + ms, 0), maxMs: Math.max(0, ...gcPauses) },
  };
  // The samples of a finished step are not needed any more.
  current.samples = { add() {} };
  return result;
}

/** Kernel counters: softnet backlog drops (all cores), TCP retransmitted segments, RTO timeouts, tail loss probes. */
function netCounters() {
  const counters = { backlogDrops: 0, retransSegs: 0, rtoTimeouts: 0, lossProbes: 0 };
  try {
    for (const line of readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n')) {
      counters.backlogDrops += parseInt(line.split(' ')[1], 16);
    }
    const field = (file, section, name) => {
      const lines = readFileSync(file, 'utf8').split('\n').filter((line) => line.startsWith(`${section}:`));
      const names = lines[0].split(' ');
      return Number(lines[1].split(' ')[names.indexOf(name)]);
    };
    counters.retransSegs = field('/proc/net/snmp', 'Tcp', 'RetransSegs');
    counters.rtoTimeouts = field('/proc/net/netstat', 'TcpExt', 'TCPTimeouts');
    counters.lossProbes = field('/proc/net/netstat', 'TcpExt', 'TCPLossProbes');
  } catch {
    // Not Linux, or another layout: the counters stay 0.
  }
  return counters;
}

function sendOne(stepIndex) {
  const seq = nextSeq++;
  if (seq >= MAX_MESSAGES) {
    throw new Error(`more than ${MAX_MESSAGES} messages in one stack measurement`);
  }
  const client = clients[nextSender];
  nextSender = (nextSender + 1) % clients.length;
  msgRoom[seq] = client.room;
  msgSender[seq] = client.member;
  msgNode[seq] = client.node;
  msgStep[seq] = stepIndex;
  client.connection.send(seq, epochNow());
}

/** Lost deliveries over every message sent so far, from the masks; duplicates and the rest as counted. */
function tally() {
  const all = (1 << setup.roomSize) - 1;
  let lost = 0;
  let expected = 0;
  for (let seq = 0; seq < nextSeq; seq++) {
    const wanted = all & ~(1 << msgSender[seq]);
    lost += POPCOUNT[wanted & ~masks[seq]];
    expected += setup.roomSize - 1;
  }
  return { messages: nextSeq, expected, lost, ...totals };
}

serveRequests({
  open,
  step,
  totals: tally,
  async close() {
    await Promise.all(clients.map((client) => client.connection.close()));
    await sleep(50);
    return { closed: clients.length };
  },
  stop() {},
});
