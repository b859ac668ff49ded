// Connection rate, one server per slice: `parallel` loops, each opening a
// connection, closing it as soon as it is usable, waiting for the close to
// complete, and starting again. Cycles completed inside the window count.
import { loadClient, sleep } from './pool.mjs';
import { measuredSlice } from './slice.mjs';

export async function churnSlice({ client, lean, port, parallel, warmupMs, durationMs, pids, coreOf, foreignLoadPoints }) {
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
  let result = { warmupOnly: true };
  if (durationMs > 0) {
    result = await measuredSlice({ pids, coreOf, foreignLoadPoints }, async () => {
      measuring = true;
      await sleep(durationMs);
      measuring = false;
      return { cycles };
    });
  }
  running = false;
  await Promise.all(loops);
  return { ...result, errors, firstError };
}
