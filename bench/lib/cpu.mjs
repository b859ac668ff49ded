// CPU accounting from /proc, so both processes are measured the same way and
// the load generator can watch the server without its cooperation.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond;

function clockTicks() {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** User and system CPU seconds of a process, all its threads included (GC helpers too). */
export function processCpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (the command) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / clockTicks(), system: Number(fields[12]) / clockTicks() };
}

/** Busy and total seconds per core from /proc/stat, to spot load from processes that are not ours. */
export function coreTimes() {
  const cores = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^cpu(\d+) (.*)$/.exec(line);
    if (match === null) {
      continue;
    }
    const [user, nice, system, idle, iowait, irq, softirq, steal] = match[2].trim().split(/\s+/).map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    cores[match[1]] = { busy: busy / clockTicks(), total: (busy + idle + iowait) / clockTicks() };
  }
  return cores;
}

/**
 * Starts a CPU window over the given processes; `stop()` returns each one's
 * use in percent of one core (`percent`, split into `userPercent` and
 * `systemPercent`: on loopback, the kernel's TCP work shows up as system
 * time of the writer), plus the busy percent of every core, over the same
 * wall-clock interval.
 */
export function cpuWindow(pids) {
  const start = { at: performance.now(), procs: mapValues(pids, processCpuSeconds), cores: coreTimes() };
  return {
    stop() {
      const seconds = (performance.now() - start.at) / 1000;
      const procs = mapValues(pids, processCpuSeconds);
      const cores = coreTimes();
      const result = { seconds: round(seconds, 3), percent: {}, userPercent: {}, systemPercent: {}, coreBusyPercent: {} };
      for (const [name, cpu] of Object.entries(procs)) {
        const user = cpu.user - start.procs[name].user;
        const system = cpu.system - start.procs[name].system;
        result.percent[name] = round(((user + system) / seconds) * 100, 1);
        result.userPercent[name] = round((user / seconds) * 100, 1);
        result.systemPercent[name] = round((system / seconds) * 100, 1);
      }
      for (const [core, times] of Object.entries(cores)) {
        const before = start.cores[core];
        const total = times.total - before.total;
        result.coreBusyPercent[core] = total > 0 ? round(((times.busy - before.busy) / total) * 100, 1) : null;
      }
      return result;
    },
  };
}

function mapValues(object, fn) {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, fn(value)]));
}

function round(value, digits) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/**
 * Points of a core's busy time not explained by our processes on it
 * (`coreOf` maps each process name of the window to its core). Softirq
 * work for a process's own packets is charged to it, so a few points are
 * normal; more means another process ran on the core.
 */
export function foreignLoad(window, coreOf) {
  const ours = {};
  for (const [name, core] of Object.entries(coreOf)) {
    ours[core] = (ours[core] ?? 0) + (window.percent?.[name] ?? 0);
  }
  let worst = { core: null, points: 0 };
  for (const [core, percent] of Object.entries(ours)) {
    const busy = window.coreBusyPercent?.[core];
    if (busy === null || busy === undefined) {
      continue;
    }
    const points = Math.round(busy - percent);
    if (points > worst.points) {
      worst = { core: Number(core), points };
    }
  }
  return worst;
}

/**
 * Waits until every given core was less than `thresholdPercent` busy over
 * one `sampleMs` sample, or `maxWaitMs` passed. The machine may be shared
 * (other test runs): starting a window while they run would measure them too.
 */
export async function waitForQuiet(cores, { thresholdPercent = 10, sampleMs = 500, maxWaitMs = 60_000 } = {}) {
  const started = performance.now();
  for (;;) {
    const before = coreTimes();
    await new Promise((resolve) => setTimeout(resolve, sampleMs));
    const after = coreTimes();
    const busiest = Math.max(
      ...cores.map((core) => {
        const total = after[core].total - before[core].total;
        return total > 0 ? ((after[core].busy - before[core].busy) / total) * 100 : 0;
      }),
    );
    const waitedMs = Math.round(performance.now() - started - sampleMs);
    if (busiest < thresholdPercent) {
      return { quiet: true, waitedMs };
    }
    if (waitedMs + sampleMs >= maxWaitMs) {
      return { quiet: false, waitedMs, busiestPercent: Math.round(busiest) };
    }
  }
}
