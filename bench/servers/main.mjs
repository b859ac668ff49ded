// Entry of every server process: `node --expose-gc servers/main.mjs <kind>`.
// Starts bench/servers/<kind>.mjs on 127.0.0.1 (ephemeral port), then
// answers the orchestrator's requests over IPC.
import { probeCpuSpeed } from '../lib/cpu-probe.mjs';
import { serveRequests } from '../lib/ipc.mjs';

const kind = process.argv[2];
const { start } = await import(`./${kind}.mjs`);
const httpServer = await start();
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
    // No graceful close: nothing is measured after this, and exiting releases every socket and the port.
    stop() {},
  },
  { port, kind },
);

/** TCP connections the HTTP server accepted and that are still open (upgraded ones included). */
function openConnections() {
  return new Promise((resolve, reject) => httpServer.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}
