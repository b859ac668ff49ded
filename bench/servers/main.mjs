// Entry of every server process:
// `node --expose-gc servers/main.mjs <kind> [options as JSON]`.
// Starts bench/servers/<kind>.mjs on 127.0.0.1 (ephemeral port), then
// answers the orchestrator's requests over IPC. Options: `app` ('echo' or
// 'fanout', see nest-app.mjs) and `gateway` (@WebSocketGateway options).
import { PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { probeCpuSpeed } from '../lib/cpu-probe.mjs';
import { serveRequests } from '../lib/ipc.mjs';
import { epochNow, FANOUT, tickData } from '../lib/wire.mjs';

const kind = process.argv[2];
const options = process.argv[3] ? JSON.parse(process.argv[3]) : {};
const { start } = await import(`./${kind}.mjs`);
const { httpServer, fanout } = await start(options);
const { port } = httpServer.address();

serveRequests(
  {
    /** Heap and RSS after full collections; `connections` proves the clients really reached this server. */
    async memory() {
      if (typeof globalThis.gc !== 'function') {
        throw new Error('the server must run with --expose-gc');
      }
      // Several passes with a turn of the event loop in between: weak
      // callbacks and finalizers queued by one pass are collected by the next.
      for (let pass = 0; pass < 4; pass++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const usage = process.memoryUsage();
      return { ...usage, connections: await openConnections() };
    },
    connections: openConnections,
    cpuProbe: probeCpuSpeed,
    /** bench/profile: V8's CPU profiler over exactly the measured window (node:inspector, loaded only when asked). */
    async cpuProfileStart({ intervalMicros = 100 }) {
      const { Session } = await import('node:inspector');
      profiler = new Session();
      profiler.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: intervalMicros });
      await post('Profiler.start');
    },
    async cpuProfileStop({ file }) {
      const { profile } = await post('Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, JSON.stringify(profile));
      return { file, samples: profile.samples.length };
    },
    /**
     * bench/profile: V8's sampling heap profiler over the measured window,
     * objects collected since included, so the sampled sizes estimate every
     * byte allocated, by allocating function.
     */
    async heapProfileStart({ samplingInterval = 256, includeCollected = true, includeCollectedByMajorGc = includeCollected }) {
      const { Session } = await import('node:inspector');
      profiler = new Session();
      profiler.connect();
      await post('HeapProfiler.enable');
      await post('HeapProfiler.startSampling', {
        samplingInterval,
        includeObjectsCollectedByMajorGC: includeCollectedByMajorGc,
        includeObjectsCollectedByMinorGC: includeCollected,
      });
    },
    async heapProfileStop({ file }) {
      const { profile } = await post('HeapProfiler.stopSampling');
      profiler.disconnect();
      profiler = undefined;
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, JSON.stringify(profile));
      return { file };
    },
    /** bench/profile: GC and heap counters of this process (for allocation per operation). */
    heapStats() {
      return { ...process.memoryUsage(), ...gcCounters() };
    },
    /** Members of a fan-out room, as the server's own room bookkeeping counts them. */
    fanoutMembers({ room }) {
      return fanoutOrThrow().members(room);
    },
    /**
     * A burst of `count` broadcasts to `room`, as fast as the server can,
     * yielding to the event loop (setImmediate) after every `perTurn`
     * broadcasts, as a server broadcasting from its own handlers would.
     * Every tick carries its sequence number and its send time.
     */
    async fanoutBroadcast({ room, seqStart, count, perTurn }) {
      const { broadcast } = fanoutOrThrow();
      // Where a slow delivery comes from: the time each broadcast call took
      // (the walk over the room) and the collections during the burst.
      const gcBefore = gcCounters();
      let deliveries = 0;
      let counted = true;
      let firstSendAt;
      let walkMillisTotal = 0;
      let walkMillisMax = 0;
      for (let i = 0; i < count; i++) {
        const t = epochNow();
        firstSendAt ??= t;
        const result = broadcast(room, FANOUT.event, tickData(seqStart + i, t));
        const walk = epochNow() - t;
        walkMillisTotal += walk;
        walkMillisMax = Math.max(walkMillisMax, walk);
        if (typeof result === 'number') {
          deliveries += result;
        } else {
          counted = false;
        }
        if ((i + 1) % perTurn === 0 && i + 1 < count) {
          await nextTurn();
        }
      }
      const lastSendAt = epochNow();
      // The observer reports a collection asynchronously: one more turn lets the last ones arrive.
      await nextTurn();
      const gcAfter = gcCounters();
      // `deliveries`: what the server's own broadcast reported (socket.io's emit returns no count).
      return {
        sent: count,
        firstSendAt,
        lastSendAt,
        deliveries: counted ? deliveries : null,
        walkMillis: { mean: walkMillisTotal / count, max: walkMillisMax },
        gc: {
          count: gcAfter.gcCount - gcBefore.gcCount,
          major: gcAfter.majorGcCount - gcBefore.majorGcCount,
          millis: gcAfter.gcMillis - gcBefore.gcMillis,
          // Every pause of the burst, in ms.
          pauses: gcAfter.pauses.slice(gcBefore.pauses.length),
        },
      };
    },
    // No graceful close: nothing is measured after this, and exiting releases every socket and the port.
    stop() {},
  },
  { port, kind },
);

let profiler;

function post(method, params) {
  return new Promise((resolve, reject) => profiler.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

/** Collections and their pause time since the process started (PerformanceObserver of 'gc' entries, installed on first use). */
let gcStats;
function gcCounters() {
  if (gcStats === undefined) {
    gcStats = { gcCount: 0, gcMillis: 0, gcMaxMillis: 0, minorGcCount: 0, majorGcCount: 0, pauses: [] };
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        gcStats.gcCount++;
        gcStats.gcMillis += entry.duration;
        gcStats.gcMaxMillis = Math.max(gcStats.gcMaxMillis, entry.duration);
        // Every pause, rounded to 10 µs (a few hundred per run at most).
        gcStats.pauses.push(Math.round(entry.duration * 100) / 100);
        // NODE_PERFORMANCE_GC_MINOR = 1 (scavenge), MAJOR = 4 (mark-compact).
        const kind = entry.detail?.kind ?? entry.kind;
        if (kind === 1) {
          gcStats.minorGcCount++;
        } else if (kind === 4) {
          gcStats.majorGcCount++;
        }
      }
    }).observe({ entryTypes: ['gc'] });
  }
  return { ...gcStats, pauses: [...gcStats.pauses] };
}

/** TCP connections the HTTP server accepted and that are still open (upgraded ones included). */
function openConnections() {
  return new Promise((resolve, reject) => httpServer.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}

function fanoutOrThrow() {
  if (fanout === undefined) {
    throw new Error(`the ${kind} server was not started with app "fanout"`);
  }
  return fanout;
}
