// Entry of every server process:
// `node --expose-gc servers/main.mjs <kind> [options as JSON]`.
// Starts bench/servers/<kind>.mjs on 127.0.0.1 (ephemeral port), then
// answers the orchestrator's requests over IPC. Options: `app` ('echo' or
// 'fanout', see nest-app.mjs) and `gateway` (@WebSocketGateway options).
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
      let deliveries = 0;
      let counted = true;
      let firstSendAt;
      for (let i = 0; i < count; i++) {
        const t = epochNow();
        firstSendAt ??= t;
        const result = broadcast(room, FANOUT.event, tickData(seqStart + i, t));
        if (typeof result === 'number') {
          deliveries += result;
        } else {
          counted = false;
        }
        if ((i + 1) % perTurn === 0 && i + 1 < count) {
          await nextTurn();
        }
      }
      // `deliveries`: what the server's own broadcast reported (socket.io's emit returns no count).
      return { sent: count, firstSendAt, lastSendAt: epochNow(), deliveries: counted ? deliveries : null };
    },
    // No graceful close: nothing is measured after this, and exiting releases every socket and the port.
    stop() {},
  },
  { port, kind },
);

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
