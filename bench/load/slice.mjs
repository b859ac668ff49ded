// What every measured slice shares: a CPU window over all our processes,
// and the verdict whether another process disturbed it.
import { cpuWindow, foreignLoad } from '../lib/cpu.mjs';

/**
 * Runs `body()` inside a CPU window. `pids` names every process of ours
 * (servers and this load generator), `coreOf` their cores. A slice during
 * which another process took more than `foreignLoadPoints` of a core is
 * reported as not kept; the orchestrator runs it again.
 */
export async function measuredSlice({ pids, coreOf, foreignLoadPoints }, body) {
  const window = cpuWindow(pids);
  const outcome = await body();
  const cpu = window.stop();
  const foreign = foreignLoad(cpu, coreOf);
  return { ...outcome, cpu, foreign, kept: foreign.points <= foreignLoadPoints };
}
