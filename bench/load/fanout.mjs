// Room fan-out, the receiving side. One load generator process per server
// (see lib/measure.mjs): `fanoutOpen` connects the room's members and
// joins each through the gateway's `join` handler; then every burst is
// `fanoutArm` (reset the counters, start the CPU window), the server's
// broadcast (triggered by the orchestrator over IPC), and `fanoutCollect`
// (wait until every member got every tick, or until ticks stop coming).
// `fanoutFinish` returns the latency percentiles over all kept bursts.
//
// Exactly once: ticks arrive in order on a connection, so each member
// expects seq `next`; a smaller seq is a duplicate, a larger one means the
// ones in between were lost, and whatever is missing after the burst too.
import { cpuWindow, foreignLoad } from '../lib/cpu.mjs';
import { Samples, percentile } from '../lib/stats.mjs';
import { loadClient, runPool, sleep } from './pool.mjs';

let members = [];
/** The burst being received; see `fanoutArm`. */
let burst;
const latencies = new Samples();
const totals = { bursts: 0, deliveries: 0, lost: 0, duplicates: 0, invalid: 0, validated: 0 };

/** A member's tick handler: one per member, updating the shared burst state. */
function tickHandler(member) {
  return (seq, t, receivedAt) => {
    const current = burst;
    if (current === undefined) {
      totals.invalid++; // A tick outside any burst.
      return;
    }
    if (seq < 0) {
      current.invalid++;
      return;
    }
    if (seq === member.next) {
      member.next++;
    } else if (seq < member.next) {
      current.duplicates++;
      return;
    } else {
      current.lost += seq - member.next;
      member.next = seq + 1;
    }
    if (current.validate) {
      current.validated++;
    }
    current.received++;
    current.lastReceiptAt = receivedAt;
    current.samples?.add(receivedAt - t);
    if (current.received === current.expected) {
      current.finish();
    }
  };
}

/** Connects `count` clients and joins each to `room`; resolves once every one got its `joined` reply. */
export async function fanoutOpen({ client, lean, port, count, room, concurrency, serverPid }) {
  const driver = await loadClient(client);
  const cpu = cpuWindow({ server: serverPid, load: process.pid });
  const joined = await runPool(count, concurrency, async () => {
    const member = { next: 0, connection: undefined };
    member.connection = await driver.joinRoom(port, { lean, room, onTick: tickHandler(member) });
    return member;
  });
  const window = cpu.stop();
  members.push(...joined);
  return { members: members.length, joinsPerSecond: joined.length / window.seconds, cpu: window };
}

/**
 * Prepares for a burst of `count` ticks numbered from `seqStart`: every
 * member expects all of them. The CPU window over our processes starts now
 * and stops at the last expected delivery. `measure`: keep latencies;
 * `validate`: check every tick's full JSON (warm-up bursts).
 */
export function fanoutArm({ seqStart, count, measure, validate, pids, coreOf, foreignLoadPoints }) {
  for (const member of members) {
    member.next = seqStart;
    member.connection.validate = validate;
  }
  let finish;
  const done = new Promise((resolve) => {
    finish = resolve;
  });
  burst = {
    seqStart,
    count,
    expected: count * members.length,
    received: 0,
    lost: 0,
    duplicates: 0,
    invalid: 0,
    validate,
    validated: 0,
    lastReceiptAt: undefined,
    samples: measure ? new Samples(Math.min(1 << 22, count * members.length)) : undefined,
    window: cpuWindow(pids),
    cpu: undefined,
    done,
    finish() {
      this.cpu ??= this.window.stop();
      finish();
    },
    coreOf,
    foreignLoadPoints,
  };
  return { expected: burst.expected };
}

/**
 * Waits until every expected tick arrived, or none arrived for `stallMs`
 * (whatever is missing then counts as lost). `sent` is the server's answer
 * to the broadcast request: the time of its first send starts the clock.
 * `lastAttempt`: the orchestrator keeps this burst even if disturbed.
 */
export async function fanoutCollect({ sent, stallMs = 2000, lastAttempt = false }) {
  const current = burst;
  let lastSeen = -1;
  let lastProgressAt = performance.now();
  while (current.received < current.expected) {
    const next = await Promise.race([current.done.then(() => true), sleep(50).then(() => false)]);
    if (next) {
      break;
    }
    if (current.received !== lastSeen) {
      lastSeen = current.received;
      lastProgressAt = performance.now();
    } else if (performance.now() - lastProgressAt > stallMs) {
      break;
    }
  }
  current.finish();
  burst = undefined;
  const end = current.seqStart + current.count;
  let incompleteMembers = 0;
  for (const member of members) {
    if (member.next < end) {
      current.lost += end - member.next;
      incompleteMembers++;
    }
  }
  const cpu = current.cpu;
  const foreign = foreignLoad(cpu, current.coreOf);
  const seconds = current.lastReceiptAt === undefined ? null : (current.lastReceiptAt - sent.firstSendAt) / 1000;
  const kept = foreign.points <= current.foreignLoadPoints;
  // A disturbed burst is repeated; on the last attempt it is kept all the same (and reported as such).
  if (current.samples !== undefined && (kept || lastAttempt)) {
    latencies.addAll(current.samples);
  }
  // This burst's own percentiles: one bad burst (a GC pause, a preempted receiver) can set the p99 over all of them.
  const sortedBurst = current.samples?.sorted();
  const burstLatencyMs =
    sortedBurst === undefined || sortedBurst.length === 0
      ? undefined
      : { p50: percentile(sortedBurst, 50), p99: percentile(sortedBurst, 99), max: sortedBurst[sortedBurst.length - 1] };
  totals.bursts++;
  totals.deliveries += current.received;
  totals.lost += current.lost;
  totals.duplicates += current.duplicates;
  totals.invalid += current.invalid;
  totals.validated += current.validated;
  return {
    deliveries: current.received,
    expected: current.expected,
    lost: current.lost,
    duplicates: current.duplicates,
    invalid: current.invalid,
    validated: current.validated,
    incompleteMembers,
    seconds,
    deliveriesPerSecond: seconds ? current.received / seconds : null,
    // How long the server's broadcast loop ran; well under `seconds` means the receivers were behind.
    serverLoopSeconds: (sent.lastSendAt - sent.firstSendAt) / 1000,
    serverCountedDeliveries: sent.deliveries,
    latencyMs: burstLatencyMs,
    // The server's view of the burst: time per broadcast call (the walk over the room) and its collections.
    serverWalkMillis: sent.walkMillis,
    serverGc: sent.gc,
    cpu,
    foreign,
    kept,
  };
}

export function fanoutFinish() {
  const sorted = latencies.sorted();
  const result = {
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? null,
    },
    latencySamples: sorted.length,
    totals: { ...totals },
  };
  return result;
}

/** Closes every member (the process exits after this anyway; a clean close keeps the servers' logs quiet). */
export async function fanoutClose() {
  const closing = members;
  members = [];
  await runPool(closing.length, 500, (index) => closing[index].connection.close());
  return { closed: closing.length };
}
