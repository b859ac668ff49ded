// Connection rate: `parallel` loops, each opening a connection, closing it
// as soon as it is open, waiting for the close to complete, and starting
// again. Cycles completed inside the measured window count.
import { cpuWindow } from '../lib/cpu.mjs';
import { loadClient, sleep } from './pool.mjs';

export async function runChurn({ client, lean, port, serverPid, parallel, warmupMs, durationMs }) {
  const driver = await loadClient(client);
  let running = true;
  let measuring = false;
  let cycles = 0;
  let errors = 0;
  let firstError;

  const loop = async () => {
    while (running) {
      try {
        await driver.cycle(port, { lean });
        if (measuring) {
          cycles++;
        }
      } catch (error) {
        errors++;
        firstError ??= String(error?.message ?? error);
        await sleep(10); // A refused connection should not turn into a busy loop.
      }
    }
  };
  const loops = Array.from({ length: parallel }, loop);

  await sleep(warmupMs);
  measuring = true;
  const cpu = cpuWindow({ server: serverPid, load: process.pid });
  await sleep(durationMs);
  const window = cpu.stop();
  measuring = false;
  const measuredCycles = cycles;
  running = false;
  await Promise.all(loops);

  return {
    connectionsPerSecond: measuredCycles / window.seconds,
    cycles: measuredCycles,
    errors,
    firstError,
    serverCpuMicrosPerConnection: measuredCycles > 0 ? ((window.percent.server / 100) * window.seconds * 1e6) / measuredCycles : null,
    cpu: window,
  };
}
