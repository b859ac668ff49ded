// Idle connections for the memory measurements: opened here and held open
// while the orchestrator asks the server for its heap and RSS. No messages,
// except with the ws-deflate client (compression memory), whose connect
// exchanges one compressible message.
import { cpuWindow } from '../lib/cpu.mjs';
import { loadClient, runPool } from './pool.mjs';

let held = [];

/** Opens connections until `total` are held; returns how long that took and the CPU it used. */
export async function openIdle({ client, lean, port, serverPid, total, concurrency }) {
  const driver = await loadClient(client);
  const missing = total - held.length;
  const cpu = cpuWindow({ server: serverPid, load: process.pid });
  const opened = await runPool(missing, concurrency, () => driver.connect(port, { lean }));
  const window = cpu.stop();
  held.push(...opened);
  return { held: held.length, opened: opened.length, connectsPerSecond: opened.length / window.seconds, cpu: window, ...deflateFacts(opened) };
}

export async function closeIdle() {
  const closing = held;
  held = [];
  await runPool(closing.length, 500, (index) => closing[index].close());
  return { closed: closing.length };
}

/** For ws-deflate connections: how many negotiated permessage-deflate, and the median bytes on the wire per message. */
function deflateFacts(opened) {
  if (opened.length === 0 || opened[0].negotiated === undefined) {
    return {};
  }
  const middle = (values) => values.sort((a, b) => a - b)[values.length >> 1];
  return {
    negotiated: opened.filter((connection) => connection.negotiated).length,
    wireBytes: { sent: middle(opened.map((c) => c.wire.sent)), received: middle(opened.map((c) => c.wire.received)) },
  };
}
