// Idle connections for the memory measurement: opened here and held open
// (no messages) while the orchestrator asks the server for its heap and RSS.
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
  return { held: held.length, opened: opened.length, connectsPerSecond: opened.length / window.seconds, cpu: window };
}

export async function closeIdle() {
  const closing = held;
  held = [];
  await runPool(closing.length, 500, (index) => closing[index].close());
  return { closed: closing.length };
}
