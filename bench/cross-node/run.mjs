// Cross-node fan-out (issue 11 §8): `node bench/cross-node/run.mjs [--quick] [--no-append] [--profile]`.
//
// Side by side, in one run, on this 2-core machine: 3 nodes of each stack
// plus its engine (redis-server or nats-server) on core 0, one load
// generator on core 1; 1,000 clients per node, rooms of 10 members, 256-byte
// messages. Stacks (stacks.mjs): SwitchboardAdapter on RedisBroker (classic
// and sharded pub/sub) and on NatsBroker; socket.io with
// @socket.io/redis-adapter, classic and sharded; and one process holding
// every client (ours, socket.io): the single-node ceilings. Layout A spreads
// every room over the nodes, layout B keeps each room on one node. For each:
// peak deliveries/s, p99 publish-to-receive at half the peak, CPU per
// delivery of the nodes (summed), of the engine and of the generator, lost
// and duplicated deliveries by message id, and what each node received from
// the engine (wasted receptions). See config.mjs for the procedure's
// parameters and report.mjs for the method as written into the report.
//
// Writes bench/.results/cross-node-<date>/ (one JSON per measurement,
// summary.json, section.md) and, unless --quick or --no-append, appends the
// section "## Cross-node fan-out (issue 11 §8), <date>" to bench/RESULTS.md.
// (bench/run.mjs without BENCH_APPEND=1 rewrites RESULTS.md from scratch: a
// full main bench run replaces this section.)
//
// The library under test is this checkout's HEAD, built by build.mjs into
// XNODE_DIST (default /tmp/xnode-dist/esm; see build.mjs for XNODE_COMMIT,
// XNODE_BUILD). Other knobs:
//   XNODE_QUICK=1 (--quick)     one run, short steps (about 3 minutes), for development
//   XNODE_RUNS=3                runs of the headline pair (switchboard-redis, socketio-classic; layout A)
//   XNODE_STACKS=a,b            only these stacks (the reference socketio-classic always runs)
//   XNODE_LAYOUTS=A,B           layouts
//   XNODE_CLIENT=package        the `ws` package and socket.io-client instead of the lean clients
//   XNODE_RAMP_START, XNODE_RAMP_MS, XNODE_PEAK_MS, XNODE_HALF_MS   the procedure's rates and step lengths
//   --profile                   node 0 of each stack records a V8 CPU profile of its peak step (results dir)
//   XNODE_REPORT_FROM=bench/.results/cross-node-<date> [--append]   measure nothing: write that run's section again
//   XNODE_STACKS=switchboard-redis-autopipe,socketio-classic-autopipe   experiments (stacks.mjs), never in the default set
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineFacts } from '../lib/machine.mjs';
import { killAllChildren, liveChildren } from '../lib/processes.mjs';
import { summarizeProfile } from '../profile/summarize.mjs';
import { ensureDist } from './build.mjs';
import { config } from './config.mjs';
import { killAllEngines } from './engines.mjs';
import { measureGroup } from './measure.mjs';
import { goals, renderSection, summarize } from './report.mjs';
import { HEADLINE, LAYOUT_B_STACKS, REFERENCE, STACKS, stackNamed } from './stacks.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCH = dirname(HERE);
const ROOT = dirname(BENCH);
const argv = process.argv.slice(2);
const append = !config.quick && !argv.includes('--no-append');
const profile = argv.includes('--profile');

function cleanup() {
  killAllChildren();
  killAllEngines();
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}

/**
 * The groups of the run, in order; the stacks of a group are measured
 * interleaved (measure.mjs). Run 1: every stack in layout A, then the
 * layout-B stacks; runs 2..: the headline pair in layout A.
 */
function plan() {
  const chosen = config.stacks.length === 0 ? STACKS.filter((stack) => !stack.experiment).map((stack) => stack.name) : [...new Set([REFERENCE, ...config.stacks])];
  chosen.forEach(stackNamed);
  const order = [
    'switchboard-redis',
    'socketio-classic',
    'switchboard-nats',
    'socketio-sharded',
    'switchboard-redis-sharded',
    'switchboard-single',
    'socketio-single',
    'switchboard-redis-autopipe',
    'socketio-classic-autopipe',
    'switchboard-redis-noheartbeat',
    'switchboard-single-noheartbeat',
  ].filter((name) => chosen.includes(name));
  const groups = [];
  for (const layout of config.layouts) {
    const names = order.filter((name) => layout === 'A' || (LAYOUT_B_STACKS.includes(name) && stackNamed(name).nodes > 1));
    if (names.length > 0) {
      groups.push(names.map((name) => ({ run: 1, layout, stack: stackNamed(name) })));
    }
  }
  if (config.layouts.includes('A')) {
    for (let run = 2; run <= config.runs; run++) {
      const pair = HEADLINE.filter((name) => chosen.includes(name));
      groups.push((run % 2 === 0 ? [...pair].reverse() : pair).map((name) => ({ run, layout: 'A', stack: stackNamed(name) })));
    }
  }
  return groups;
}

/**
 * XNODE_REPORT_FROM=bench/.results/cross-node-<date>: measure nothing, write that run's section.md
 * (and summary.json) again from its JSON with the current report code; with --append, append it.
 */
function rerender(dir) {
  const resultsDir = join(ROOT, relative(ROOT, dir));
  const saved = JSON.parse(readFileSync(join(resultsDir, 'summary.json'), 'utf8'));
  const measurements = readdirSync(resultsDir)
    .filter((name) => /^run\d+-[AB]-.*\.json$/.test(name))
    .map((name) => JSON.parse(readFileSync(join(resultsDir, name), 'utf8')))
    .sort((a, b) => a.run - b.run || a.layout.localeCompare(b.layout) || order(a.stack) - order(b.stack));
  const summary = summarize(measurements);
  const notes = autoNotes(measurements, summary, saved.build);
  const engines = { redis: { version: saved.engines.redis }, natsVersion: saved.engines.nats };
  const section = renderSection({ date: saved.machine.date, machine: saved.machine, build: saved.build, engines, measurements, summary, startedAt: saved.startedAt, finishedAt: saved.finishedAt, resultsDir: relative(ROOT, resultsDir), notes });
  writeFileSync(join(resultsDir, 'summary.json'), JSON.stringify({ ...saved, summary, goals: goals(summary) }, null, 2));
  writeFileSync(join(resultsDir, 'section.md'), section);
  console.log(section);
  if (argv.includes('--append')) {
    appendSection(section);
  }
}

function order(name) {
  const index = STACKS.findIndex((stack) => stack.name === name);
  return index === -1 ? STACKS.length : index;
}

function appendSection(section) {
  const file = join(BENCH, 'RESULTS.md');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  appendFileSync(file, `${existing.endsWith('\n\n') || existing === '' ? '' : existing.endsWith('\n') ? '\n' : '\n\n'}${section}`);
  log(`appended the section to bench/RESULTS.md`);
}

async function main() {
  if (process.env.XNODE_REPORT_FROM) {
    rerender(process.env.XNODE_REPORT_FROM);
    return;
  }
  const startedAt = Date.now();
  const build = ensureDist(log);
  const machine = machineFacts(ROOT);
  machine.packages = { [`nestjs-switchboard`]: build.source, ...pick(machine.packages, ['@nestjs/core', '@nestjs/platform-socket.io', 'ws', 'socket.io', 'socket.io-client']), ...versions(['@socket.io/redis-adapter', 'ioredis', 'nats']) };
  const stamp = machine.date.replace(/[:.]/g, '-');
  const resultsDir = join(BENCH, '.results', `cross-node-${stamp}`);
  mkdirSync(resultsDir, { recursive: true });
  const groups = plan();
  const count = groups.reduce((sum, group) => sum + group.length, 0);
  log(`${config.quick ? 'QUICK mode, ' : ''}${count} measurements in ${groups.length} interleaved group(s) (${config.runs} run(s) of the headline pair), clients: ${config.client}; nodes and engines on core ${config.cores.server}, generator on core ${config.cores.load}; ${build.source}`);
  const engines = {
    redis: { version: engineVersion(process.env.XNODE_REDIS_SERVER ?? '/usr/bin/redis-server', /v=([^ ]+)/) },
    natsVersion: engineVersion(process.env.XNODE_NATS_SERVER ?? '/usr/sbin/nats-server', /(v[0-9.]+)/),
  };
  const profileDir = profile ? join(resultsDir, 'profiles') : undefined;
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
  }
  const measurements = [];
  const notes = [];
  for (const [index, group] of groups.entries()) {
    log(`group ${index + 1}/${groups.length}: run ${group[0].run}, layout ${group[0].layout}: ${group.map((item) => item.stack.name).join(', ')}`);
    const results = await measureGroup(group, { dist: build.dist, log, profileDir });
    group.forEach((item, position) => {
      const result = results[position];
      const entry = { run: item.run, layout: item.layout, stack: item.stack.name, result };
      measurements.push(entry);
      writeFileSync(join(resultsDir, `run${item.run}-${item.layout}-${item.stack.name}.json`), JSON.stringify(entry, null, 2));
      if (result.peak?.profile) {
        const text = summarizeProfile(JSON.parse(readFileSync(result.peak.profile.file, 'utf8')), { perOperation: result.peak.received / item.stack.nodes, unit: 'delivery', top: 25 });
        writeFileSync(
          result.peak.profile.file.replace(/\.cpuprofile$/, '.txt'),
          `${item.stack.name} layout ${item.layout} run ${item.run}, node 0, peak step (${Math.round(result.peak.deliveriesPerSecond)} deliveries/s; "per delivery": the stack's deliveries / nodes)\n${text}\n`,
        );
      }
    });
  }

  const summary = summarize(measurements);
  const finishedAt = Date.now();
  notes.push(...autoNotes(measurements, summary, build));
  const section = renderSection({ date: machine.date, machine, build, engines, measurements, summary, startedAt, finishedAt, resultsDir: relative(ROOT, resultsDir), notes });
  writeFileSync(join(resultsDir, 'summary.json'), JSON.stringify({ machine, build, config, engines: { redis: engines.redis.version, nats: engines.natsVersion }, summary, goals: goals(summary), startedAt, finishedAt }, null, 2));
  writeFileSync(join(resultsDir, 'section.md'), section);
  if (append) {
    appendSection(section);
  }
  console.log(`\n${section}`);
  log(`wrote ${relative(ROOT, resultsDir)}/ in ${((finishedAt - startedAt) / 60000).toFixed(1)} min`);
  if (liveChildren().length > 0) {
    throw new Error(`children still running: ${liveChildren().join(', ')}`);
  }
}

/** Notes the figures call for (generator-bound, disturbed, failed, type errors in the build). */
function autoNotes(measurements, summary, build) {
  const notes = [];
  for (const m of measurements) {
    if (m.result.error) {
      notes.push(`run ${m.run}, layout ${m.layout}, ${m.stack}: failed: ${m.result.error.split('\n')[0]}`);
    }
  }
  for (const [layout, stacks] of Object.entries(summary)) {
    for (const [name, entry] of Object.entries(stacks)) {
      if (entry.generatorBound) {
        notes.push(`layout ${layout}, ${name}: the generator was at its limit at the peak (${entry.values.generatorPercent.map((value) => `${Math.round(value)}%`).join(', ')} of its core; load core ${entry.values.loadCoreBusy.map((value) => `${Math.round(value)}%`).join(', ')} busy): this peak is the generator's, the stack may go higher.`);
      }
      if (entry.disturbed) {
        notes.push(`layout ${layout}, ${name}: a peak or half-peak step was still disturbed by other processes after ${config.retries} repeats.`);
      }
    }
  }
  if (build.typeErrors) {
    notes.push(`tsc reported type errors building ${build.source} (it emitted all the same): ${build.typeErrors.split('\n')[0]}`);
  }
  return notes;
}

function engineVersion(binary, pattern) {
  try {
    return pattern.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'not found';
  }
}

function versions(names) {
  return Object.fromEntries(
    names.map((name) => {
      try {
        return [name, JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version];
      } catch {
        return [name, 'not installed'];
      }
    }),
  );
}

function pick(object, keys) {
  return Object.fromEntries(keys.filter((key) => key in object).map((key) => [key, object[key]]));
}

function log(message) {
  console.log(`[cross-node ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
