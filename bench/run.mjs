// `npm run bench`: compares raw ws (naive, corked per tick, on Express),
// Nest + WsAdapter, Nest + socket.io and Nest + SwitchboardAdapter in one run (echo, idle memory, connection rate,
// room fan-out; plus SwitchboardAdapter's memory with compression), and
// writes bench/RESULTS.md plus the raw per-run JSON under bench/.results/.
// See bench/README.md for the knobs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import { config } from './lib/config.mjs';
import { machineFacts, newestMtime } from './lib/machine.mjs';
import { measureFanout, measureIdle, measureInterleaved, probeServerCore, usedPorts } from './lib/measure.mjs';
import { fdLimitFor, killAllChildren, liveChildren, stillListening } from './lib/processes.mjs';
import { renderReport } from './lib/report.mjs';
import { collectWarnings, summarize } from './lib/summary.mjs';
import { isReferenceOf, TARGETS } from './lib/targets.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);

// Whatever happens, no child outlives the orchestrator.
process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

async function main() {
  if (process.env.BENCH_REPORT_FROM) {
    rerender(process.env.BENCH_REPORT_FROM);
    return;
  }
  const startedAt = Date.now();
  ensureBuilt();
  const targets = selectTargets();
  const fdLimit = fdLimitFor(config.fdLimit);
  const neededFds = Math.max(...config.idle.counts, ...config.fanout.sizes, ...config.compression.counts) + 100;
  if (fdLimit < neededFds) {
    throw new Error(`the fd limit can only be raised to ${fdLimit}, ${neededFds} are needed; lower BENCH_IDLE_COUNTS, BENCH_FANOUT_SIZES or BENCH_COMPRESSION_CONNECTIONS`);
  }
  const machine = machineFacts(ROOT);
  const stamp = machine.date.replace(/[:.]/g, '-');
  const resultsDir = join(BENCH, '.results', stamp);
  mkdirSync(resultsDir, { recursive: true });

  log(`${config.quick ? 'QUICK mode, ' : ''}${config.runs} run(s) × ${targets.length} targets; server on core ${config.cores.server}, load generator on core ${config.cores.load}; fd limit ${fdLimit}`);

  const cpuProbe = await probeServerCore(targets[0]);
  log(`CPU probe on core ${config.cores.server}: ${cpuProbe.opsPerMs.join(' ')} ops/ms per ${cpuProbe.windowMs} ms window`);

  const runs = [];
  for (let run = 0; run < config.runs; run++) {
    const results = {};
    runs.push(results);
    const record = (target, scenario, result) => {
      (results[target.name] ??= {})[scenario] = result;
      const file = join(resultsDir, `run${run + 1}-${target.name}-${scenario}.json`);
      writeFileSync(file, JSON.stringify({ run: run + 1, target, scenario, result }, null, 2));
      log(`run ${run + 1}/${config.runs} ${target.name} ${scenario}: ${describe(scenario, result)}`);
    };
    for (const scenario of config.scenarios) {
      const scenarioTargets = targets.filter((target) => target.scenarios.includes(scenario));
      if (scenarioTargets.length === 0) {
        continue;
      }
      if (scenario === 'idle' || scenario === 'compression') {
        // One server at a time; the order rotates every run.
        for (const target of scenarioTargets.map((_, index) => scenarioTargets[(index + run) % scenarioTargets.length])) {
          record(target, scenario, await attempt(() => measureIdle(target, config[scenario])));
        }
        continue;
      }
      if (scenario === 'fanout') {
        // One measurement per room size, each interleaving every target; one result per target holds all sizes.
        const points = new Map(scenarioTargets.map((target) => [target.name, []]));
        for (const size of config.fanout.sizes) {
          const measured = await attempt(() => measureFanout(size, scenarioTargets, run));
          for (const target of scenarioTargets) {
            points.get(target.name).push(measured.error ? { members: size, error: measured.error } : measured[target.name]);
          }
        }
        for (const target of scenarioTargets) {
          record(target, scenario, { points: points.get(target.name) });
        }
        continue;
      }
      const measured = await attempt(() => measureInterleaved(scenario, scenarioTargets, run));
      for (const target of scenarioTargets) {
        record(target, scenario, measured.error ? measured : measured[target.name]);
      }
    }
  }

  const summary = summarize(runs, targets);
  const warnings = collectWarnings(runs, targets, summary);
  const finishedAt = Date.now();
  writeFileSync(join(resultsDir, 'summary.json'), JSON.stringify({ machine, fdLimit, cpuProbe, config, summary, warnings, startedAt, finishedAt }, null, 2));
  const report = renderReport({
    machine,
    fdLimit,
    cpuProbe,
    runs,
    targets,
    summary,
    warnings,
    startedAt,
    finishedAt,
    resultsDir: relative(ROOT, resultsDir),
  });
  writeResults(report, machine.date);
  log(`wrote bench/RESULTS.md and ${relative(ROOT, resultsDir)}/ in ${((finishedAt - startedAt) / 60000).toFixed(1)} min`);
  for (const warning of warnings) {
    log(`warning: ${warning}`);
  }
  // Every child was stopped after its measurement; check that nothing of ours is left.
  if (liveChildren().length > 0) {
    throw new Error(`children still running: ${liveChildren().join(', ')}`);
  }
  const listening = stillListening(usedPorts);
  if (listening.length > 0) {
    throw new Error(`ports still listening: ${listening.join(', ')}`);
  }
  log(`all ${usedPorts.length} server processes stopped, none of their ports is listening`);
}

/**
 * BENCH_REPORT_FROM=bench/.results/<date>: writes bench/RESULTS.md again from
 * that run's JSON, with the current summary and report code (no measuring).
 * The configuration must be the one of that run (same BENCH_* variables).
 */
function rerender(dir) {
  const resultsDir = join(ROOT, relative(ROOT, dir));
  const saved = JSON.parse(readFileSync(join(resultsDir, 'summary.json'), 'utf8'));
  const runs = [];
  for (const file of readdirSync(resultsDir).filter((name) => /^run\d+-.*\.json$/.test(name))) {
    const { run, target, scenario, result } = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
    ((runs[run - 1] ??= {})[target.name] ??= {})[scenario] = result;
  }
  // In the order a run records them (the warnings follow it).
  for (const run of runs) {
    for (const [name, byScenario] of Object.entries(run)) {
      run[name] = Object.fromEntries(config.scenarios.filter((scenario) => scenario in byScenario).map((scenario) => [scenario, byScenario[scenario]]));
    }
  }
  const targets = selectTargets();
  const summary = summarize(runs, targets);
  const warnings = collectWarnings(runs, targets, summary);
  // Runs before startedAt/finishedAt were saved: the machine date and the summary file's time.
  const startedAt = saved.startedAt ?? Date.parse(saved.machine.date);
  const finishedAt = saved.finishedAt ?? statSync(join(resultsDir, 'summary.json')).mtimeMs;
  const report = renderReport({ machine: saved.machine, fdLimit: saved.fdLimit, cpuProbe: saved.cpuProbe, runs, targets, summary, warnings, startedAt, finishedAt, resultsDir: relative(ROOT, resultsDir) });
  writeResults(report, saved.machine.date);
  log(`wrote bench/RESULTS.md again from ${relative(ROOT, resultsDir)}/ (${runs.length} run(s))`);
}

/**
 * Writes the report as bench/RESULTS.md, or with BENCH_APPEND=1 appends it
 * to the existing file as one dated section (every heading one level down),
 * for a partial run (some scenarios or targets) that must not replace the
 * last full run's figures.
 */
function writeResults(report, date) {
  const file = join(BENCH, 'RESULTS.md');
  if (process.env.BENCH_APPEND !== '1' || !existsSync(file)) {
    writeFileSync(file, report);
    return;
  }
  const lines = report.split('\n');
  const body = lines.slice(1).map((line) => (/^#{1,5} /.test(line) ? `#${line}` : line));
  const what = `${config.scenarios.join(', ')}${config.only.length > 0 ? `; BENCH_ONLY=${config.only.join(',')}` : ''}`;
  const section = [`## Run of ${date.slice(0, 16).replace('T', ' ')} UTC (${what})`, ...body].join('\n');
  writeFileSync(file, `${readFileSync(file, 'utf8').trimEnd()}\n\n${section}`);
}

/** The switchboard server imports the built package; build it when there is nothing to import. */
function ensureBuilt() {
  const entry = join(ROOT, 'dist', 'esm', 'index.js');
  if (!existsSync(entry) || process.env.BENCH_BUILD === '1') {
    log('building nestjs-switchboard (npm run build)');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  } else if (newestMtime(join(ROOT, 'lib')) > statSync(entry).mtimeMs) {
    log('warning: lib/ changed after dist/ was built; the switchboard numbers are for the old build (BENCH_BUILD=1 rebuilds)');
  }
}

/**
 * The targets of BENCH_ONLY (all by default), each with the scenarios of
 * BENCH_SCENARIOS it takes part in; a scenario's baseline (raw ws, or
 * switchboard for compression) and its references (raw ws corked for echo,
 * raw ws on Express for connection rate) run whenever another target runs it.
 */
function selectTargets() {
  const only = new Set(config.only);
  const chosen = (target) => only.size === 0 || only.has(target.name);
  const wanted = (scenario) => config.scenarios.includes(scenario) && TARGETS.some((target) => chosen(target) && target.scenarios.includes(scenario));
  const targets = TARGETS.map((target) => ({
    ...target,
    scenarios: target.scenarios.filter((scenario) => wanted(scenario) && (chosen(target) || isReferenceOf(scenario, target.name))),
  })).filter((target) => target.scenarios.length > 0);
  if (targets.length === 0) {
    throw new Error('no target left to run: check BENCH_ONLY and BENCH_SCENARIOS');
  }
  return targets;
}

function describe(scenario, result) {
  if (result.error) {
    return `FAILED ${result.error.split('\n')[0]}`;
  }
  const cpu = (window) => `cpu server ${Math.round(window.percent.server)}% load ${Math.round(window.percent.load)}%`;
  switch (scenario) {
    case 'echo':
      return `${retried(result)}${Math.round(result.messagesPerSecond)} msg/s p50 ${result.latencyMs.p50?.toFixed(2)} ms p99 ${result.latencyMs.p99?.toFixed(2)} ms, ${cpu(result.cpu)}`;
    case 'churn':
      return `${retried(result)}${Math.round(result.connectionsPerSecond)} conn/s${result.errors ? ` (${result.errors} errors)` : ''}, ${cpu(result.cpu)}`;
    case 'idle':
      return retried(result) + result.points
        .map((point) => `${point.connections}: heap ${Math.round(point.heapUsedPerConnection)} B/conn rss ${Math.round(point.rssPerConnection)} B/conn`)
        .join(', ');
    case 'compression':
      return retried(result) + result.points
        .map(
          (point) =>
            `${point.connections}: heap ${Math.round(point.heapUsedPerConnection)} B/conn rss ${Math.round(point.rssPerConnection)} B/conn external ${Math.round(point.externalPerConnection)} B/conn, ` +
            `deflate negotiated by ${point.connect.negotiated}, reply ${point.connect.wireBytes?.received} B on the wire`,
        )
        .join(', ');
    case 'fanout':
      return result.points
        .map((point) => {
          if (point.error) {
            return `${point.members}: FAILED ${point.error.split('\n')[0]}`;
          }
          const faults = point.lost + point.duplicates + point.invalid > 0 ? ` LOST ${point.lost} DUP ${point.duplicates} INVALID ${point.invalid}` : '';
          return (
            `${retried(point)}${point.members}: ${Math.round(point.deliveriesPerSecond)} deliveries/s p50 ${point.latencyMs.p50?.toFixed(2)} ms p99 ${point.latencyMs.p99?.toFixed(2)} ms, ` +
            `${point.serverCpuMicrosPerDelivery?.toFixed(2)} µs/delivery, send loop ${Math.round(point.serverLoopShare * 100)}% of the burst, ${cpu(point.cpu)}${faults}`
          );
        })
        .join('; ');
    default:
      return JSON.stringify(result);
  }
}

/** A failed measurement becomes a result with an error, so the other measurements still run. */
async function attempt(measure) {
  try {
    return await measure();
  } catch (error) {
    return { error: error?.stack ?? String(error) };
  }
}

function retried(result) {
  const notes = [];
  if (result.discardedSlices > 0) {
    notes.push(`${result.discardedSlices} slice(s) repeated: other load`);
  }
  if (result.quiet?.waitedMs > 1000) {
    notes.push(`waited ${Math.round(result.quiet.waitedMs / 1000)} s for quiet cores`);
  }
  return notes.length === 0 ? '' : `(${notes.join('; ')}) `;
}

function log(message) {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
