// What metrics cost broadcast throughput (issue 13, item 4: <= 3 %).
//
//   node bench/metrics-overhead.mjs [--append] [--hooks-only]
//
// Room fan-out to 1,000 real `ws` clients, through bench/lib/measure.mjs's
// measureFanout (the machinery of bench/load/fanout.mjs): three servers of
// the same Nest app (SwitchboardModule + SwitchboardAdapter, the fan-out
// gateway of bench/servers/nest-app.mjs), differing only in
// `SwitchboardModule.forRoot({ metrics })`:
// - `metrics-off`: no exporter (the hot path does not even read the clock);
// - `prometheus`: PrometheusMetrics on its own registry, the room allow-listed
//   (so every fan-out takes the room-label path), scraped every 5 s;
// - `otel`: OpenTelemetryMetrics on an SDK MeterProvider whose periodic reader
//   collects every 5 s into an exporter that discards.
// Servers on core 0, each with its own load generator process on core 1
// (taskset, bench/lib/processes.mjs); bursts interleaved in rotating order
// within a run, as the main benchmark does, so all three see the same
// machine. BENCH_RUNS runs (default 5); the report gives medians over runs of
// deliveries/s, server CPU µs per delivery and the server's time per
// broadcast call, and the median of the per-run ratios to `metrics-off`.
//
// The library comes from a build of this checkout's lib/ into
// /tmp/metrics-dist/esm (made here with tsc unless METRICS_DIST names one),
// with a node_modules symlink to this checkout's, so `npm run build` (which
// others' tests depend on) is never run. --append adds the report to
// bench/RESULTS.md; the raw JSON goes to bench/.results/.
//
// This same file is also the server module: bench/servers/main.mjs imports
// `./${kind}.mjs`, and the targets' kind is `../metrics-overhead`, whose
// `start()` is below.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(HERE), '..');
const DEFAULT_DIST = '/tmp/metrics-dist/esm';
const SIZE = 1000;
const SCRAPE_EVERY_MS = 5000;

// --- The server role (imported by bench/servers/main.mjs in a pinned child). ---

/** Boots the fan-out app with the exporter named by `gateway.metricsMode`; resolves with what servers/main.mjs expects. */
export async function start(options = {}) {
  const { metricsMode = 'off', pairedOut, ...gatewayOptions } = options.gateway ?? {};
  const dist = process.env.METRICS_DIST ?? DEFAULT_DIST;
  await import('reflect-metadata');
  const [{ Module }, { NestFactory }, websockets, lib, metricsLib, { SwitchboardHub }, wire] = await Promise.all([
    import('@nestjs/common'),
    import('@nestjs/core'),
    import('@nestjs/websockets'),
    import(pathToFileURL(join(dist, 'index.js')).href),
    import(pathToFileURL(join(dist, 'metrics', 'index.js')).href),
    import(pathToFileURL(join(dist, 'hub', 'switchboard-hub.js')).href),
    import('./lib/wire.mjs'),
  ]);
  const { FANOUT, HOST, PATH } = wire;
  const room = `${FANOUT.room}-${SIZE}`;
  const metrics = await exporterFor(metricsMode, metricsLib, room);

  // The gateway of bench/servers/nest-app.mjs (native rooms), decorated by calling the decorators.
  class FanoutGateway {
    server;
    join(client, joined) {
      client.join(joined);
      return { event: FANOUT.joined, data: joined };
    }
    broadcast(target, event, data) {
      return this.server.to(target).emit(event, data);
    }
    members(target) {
      return this.server.rooms.membersOf(target)?.size ?? 0;
    }
  }
  websockets.WebSocketGateway({ path: PATH, ...gatewayOptions })(FanoutGateway);
  websockets.WebSocketServer()(FanoutGateway.prototype, 'server');
  const descriptor = Object.getOwnPropertyDescriptor(FanoutGateway.prototype, 'join');
  websockets.SubscribeMessage(FANOUT.join)(FanoutGateway.prototype, 'join', descriptor);
  websockets.ConnectedSocket()(FanoutGateway.prototype, 'join', 0);
  websockets.MessageBody()(FanoutGateway.prototype, 'join', 1);

  class BenchModule {}
  Module({ imports: [lib.SwitchboardModule.forRoot(metrics === undefined ? {} : { metrics: metrics.exporter })], providers: [FanoutGateway] })(BenchModule);
  const app = await NestFactory.create(BenchModule, { logger: false, abortOnError: false });
  app.useWebSocketAdapter(new lib.SwitchboardAdapter(app));
  await app.listen(0, HOST);
  metrics?.collectPeriodically();
  const gateway = app.get(FanoutGateway);
  const broadcast = pairedOut === undefined ? (target, event, data) => gateway.broadcast(target, event, data) : pairedTurns(app.get(SwitchboardHub), metrics.exporter, pairedOut, gateway);
  return {
    httpServer: app.getHttpServer(),
    fanout: {
      broadcast,
      members: (target) => gateway.members(target),
    },
  };
}

/**
 * The paired measurement: one server, one room, the exporter installed on
 * the hub for every other turn of the event loop and removed (`hub.metrics =
 * undefined`, exactly the code path without metrics) for the turns between.
 * servers/main.mjs sends a few broadcasts per turn and yields; the CPU time
 * of this process from the first broadcast of a turn to the first of the
 * next covers that turn's broadcasts and the writes they flushed. Adjacent
 * turns see the same machine within milliseconds, so other processes'
 * load, which swamps a 3 % difference between separate servers here, mostly
 * cancels out. The turns are written to `file` when the process exits.
 */
function pairedTurns(hub, exporter, file, gateway) {
  const turns = [];
  let current;
  let inTurn = false;
  process.on('exit', () => writeFileSync(file, JSON.stringify(turns)));
  return (target, event, data) => {
    if (!inTurn) {
      inTurn = true;
      setImmediate(() => {
        inTurn = false;
      });
      const cpu = process.cpuUsage();
      const now = performance.now();
      if (current !== undefined) {
        turns.push({ on: current.on, broadcasts: current.broadcasts, deliveries: current.deliveries, cpuMicros: cpu.user + cpu.system - current.cpu, wallMs: now - current.wall });
      }
      const on = current === undefined ? false : !current.on;
      hub.metrics = on ? exporter : undefined;
      current = { on, broadcasts: 0, deliveries: 0, cpu: cpu.user + cpu.system, wall: now };
    }
    const delivered = gateway.broadcast(target, event, data);
    current.broadcasts++;
    current.deliveries += delivered;
    return delivered;
  };
}

/** The exporter of a mode, and the periodic collection a real deployment has (a scrape, an export interval). */
async function exporterFor(mode, metricsLib, room) {
  if (mode === 'off') {
    return undefined;
  }
  if (mode === 'prometheus') {
    const { Registry } = await import('prom-client');
    const exporter = new metricsLib.PrometheusMetrics({ registry: new Registry(), rooms: { allow: [room] } });
    return {
      exporter,
      collectPeriodically: () => setInterval(() => void exporter.scrape(), SCRAPE_EVERY_MS).unref(),
    };
  }
  if (mode === 'otel') {
    const { MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
    // An exporter that drops what it is given: the cost measured is the instruments' and the collection's, not a network's.
    const discard = { export: (_metrics, done) => done({ code: 0 }), forceFlush: async () => {}, shutdown: async () => {} };
    const provider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: discard, exportIntervalMillis: SCRAPE_EVERY_MS })] });
    return { exporter: new metricsLib.OpenTelemetryMetrics({ meter: provider.getMeter('bench'), rooms: { allow: [room] } }), collectPeriodically: () => undefined };
  }
  throw new Error(`unknown metricsMode ${mode}`);
}

// --- The orchestrator role. ---

const TARGETS = [
  { name: 'metrics-off', label: 'SwitchboardModule without metrics', mode: 'off' },
  { name: 'prometheus', label: 'PrometheusMetrics (room allow-listed, scraped every 5 s)', mode: 'prometheus' },
  { name: 'otel', label: 'OpenTelemetryMetrics (SDK MeterProvider, collected every 5 s)', mode: 'otel' },
].map((target) => ({ ...target, server: '../metrics-overhead', client: 'ws-json', gateway: { metricsMode: target.mode } }));

/** The paired servers (see pairedTurns): metrics on and off in alternate turns of one process. */
const PAIRED = ['prometheus', 'otel'].map((mode) => ({
  name: `paired-${mode}`,
  label: `${mode} on and off in alternate event-loop turns of one server`,
  mode,
  server: '../metrics-overhead',
  client: 'ws-json',
}));
const pairedFile = (target, run) => `/tmp/metrics-overhead-${process.pid}-${target.name}-${run}.json`;

async function orchestrate() {
  const append = process.argv.includes('--append');
  if (process.env.METRICS_DIST === undefined) {
    buildDist(DEFAULT_DIST);
  }
  process.env.METRICS_DIST ??= DEFAULT_DIST;
  // The fan-out parameters of the main benchmark, one room size; more runs than its 3 by default.
  process.env.BENCH_RUNS ??= '5';
  process.env.BENCH_FANOUT_SIZES = String(SIZE);
  const [{ config }, { measureFanout }, { killAllChildren }, { median, spreadPercent }, { machineFacts }] = await Promise.all([
    import('./lib/config.mjs'),
    import('./lib/measure.mjs'),
    import('./lib/processes.mjs'),
    import('./lib/stats.mjs'),
    import('./lib/machine.mjs'),
  ]);
  process.on('SIGINT', () => {
    killAllChildren();
    process.exit(130);
  });
  const facts = machineFacts(ROOT);
  const hooks = await hookCosts();
  console.log(`hook costs (ns per call): ${JSON.stringify(hooks)}`);
  if (process.argv.includes('--hooks-only')) {
    return;
  }
  const runs = [];
  const paired = Object.fromEntries(PAIRED.map((target) => [target.name, []]));
  try {
    for (let run = 0; run < config.runs; run++) {
      const started = Date.now();
      const results = await measureFanout(SIZE, TARGETS, run);
      runs.push(results);
      // The paired servers in a measurement of their own, after the three above (the same bursts, the same machine minutes within each pair).
      await measureFanout(
        SIZE,
        PAIRED.map((target) => ({ ...target, gateway: { metricsMode: target.mode, pairedOut: pairedFile(target, run) } })),
        run,
      );
      for (const target of PAIRED) {
        const file = pairedFile(target, run);
        paired[target.name].push(...JSON.parse(readFileSync(file, 'utf8')));
        rmSync(file);
      }
      const line = TARGETS.map((target) => `${target.name} ${Math.round(results[target.name].deliveriesPerSecond)}/s ${results[target.name].serverCpuMicrosPerDelivery?.toFixed(3)} µs`).join(', ');
      console.log(`run ${run + 1}/${config.runs} (${Math.round((Date.now() - started) / 1000)} s): ${line}`);
    }
  } finally {
    killAllChildren();
  }

  const per = (name, pick) => runs.map((results) => pick(results[name]));
  const ratio = (name, pick) => runs.map((results) => pick(results[name]) / pick(results['metrics-off']));
  const rate = (result) => result.deliveriesPerSecond;
  const cpu = (result) => result.serverCpuMicrosPerDelivery;
  const walk = (result) => result.spread.walkMeanMs * 1000;
  const rows = TARGETS.map((target) => ({
    target,
    rate: median(per(target.name, rate)),
    rateSpread: spreadPercent(per(target.name, rate)),
    rateRatio: median(ratio(target.name, rate)),
    cpu: median(per(target.name, cpu)),
    cpuRatio: median(ratio(target.name, cpu)),
    walk: median(per(target.name, walk)),
    walkRatio: median(ratio(target.name, walk)),
    p99: median(per(target.name, (result) => result.latencyMs.p99)),
    lost: runs.reduce((sum, results) => sum + results[target.name].lost + results[target.name].duplicates, 0),
    disturbed: runs.reduce((sum, results) => sum + results[target.name].discardedSlices + results[target.name].disturbedSlicesKept, 0),
  }));

  const pairedRows = PAIRED.map((target) => ({ target, ...pairedSummary(paired[target.name], median) }));
  const percent = (value) => (value === null ? 'n/a' : `${value >= 1 ? '+' : ''}${((value - 1) * 100).toFixed(1)} %`);
  const fixed = (value, digits) => (value === null ? 'n/a' : value.toFixed(digits));
  const date = new Date().toISOString();
  const lines = [
    '',
    `## Metrics overhead, ${date.slice(0, 16).replace('T', ' ')} UTC: broadcast to a room of ${SIZE.toLocaleString('en-US')} (issue 13 item 4, goal <= 3 %)`,
    '',
    `\`node bench/metrics-overhead.mjs\`: ${config.runs} runs; per run and target ${config.fanout.bursts} measured bursts of ${Math.round(config.fanout.deliveriesPerBurst / SIZE)} broadcasts (${config.fanout.deliveriesPerBurst.toLocaleString('en-US')} deliveries) to ${SIZE.toLocaleString('en-US')} real \`ws\` clients,`,
    'interleaved in rotating order; servers on core 0, each its own load generator on core 1 (taskset). Same app for all three',
    '(SwitchboardModule + SwitchboardAdapter, the fan-out gateway of bench/servers/nest-app.mjs), only `forRoot({ metrics })` differs.',
    'Medians over runs; "vs off" is the median of the per-run ratios to `metrics-off` (same run, same machine minutes).',
    '',
    '| Target | Deliveries/s | vs off | Server CPU µs/delivery | vs off | Server time per broadcast call (µs) | vs off | p99 latency (ms) | Lost + duplicated | Disturbed bursts |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (row) =>
        `| \`${row.target.name}\`: ${row.target.label} | ${Math.round(row.rate).toLocaleString('en-US')} (spread ${fixed(row.rateSpread, 1)} %) | ${row.target.name === 'metrics-off' ? '-' : percent(row.rateRatio)} | ${fixed(row.cpu, 3)} | ${row.target.name === 'metrics-off' ? '-' : percent(row.cpuRatio)} | ${fixed(row.walk, 1)} | ${row.target.name === 'metrics-off' ? '-' : percent(row.walkRatio)} | ${fixed(row.p99, 2)} | ${row.lost} | ${row.disturbed} |`,
    ),
    '',
    'Paired in one server (see `pairedTurns`: the exporter installed on the hub for every other event-loop turn, `hub.metrics = undefined` for the',
    'turns between; each turn is a few broadcasts and the writes they flushed; server CPU time of adjacent turns compared):',
    '',
    '| Server | Turns (on / off) | CPU µs per delivery, off | on | median of the paired ratios (on / off) | interquartile range of the paired ratios |',
    '|---|---|---|---|---|---|',
    ...pairedRows.map(
      (row) =>
        `| \`${row.target.name}\`: ${row.target.label} | ${row.onTurns} / ${row.offTurns} | ${fixed(row.offMicros, 3)} | ${fixed(row.onMicros, 3)} | ${percent(row.pairedRatio)} | ${percent(row.q1)} … ${percent(row.q3)} |`,
    ),
    '',
    `The hot path's added work, timed directly (${'`'}hookCosts()${'`'}, median of 5 × 200,000 calls): per broadcast (two clock reads and the fan-out hook)`,
    `Prometheus ${hooks.prometheus.perBroadcast} ns, OpenTelemetry ${hooks.otel.perBroadcast} ns, against ${fixed(rows[0].walk, 1)} µs per broadcast call without metrics here`,
    `(${fixed((hooks.prometheus.perBroadcast / 1000 / rows[0].walk) * 100, 3)} % and ${fixed((hooks.otel.perBroadcast / 1000 / rows[0].walk) * 100, 3)} %); per handled message (clock reads and the handler hook) Prometheus ${hooks.prometheus.perHandler} ns, OpenTelemetry ${hooks.otel.perHandler} ns.`,
    `One scrape (Prometheus, the whole exposition) ${hooks.prometheus.perCollectionMicros} µs, one collection (OpenTelemetry, reader.collect()) ${hooks.otel.perCollectionMicros} µs: every 5 s, ${fixed((hooks.prometheus.perCollectionMicros / 5e6) * 100, 3)} % and ${fixed((hooks.otel.perCollectionMicros / 5e6) * 100, 3)} % of a core.`,
    '',
    'Per run (deliveries/s; server CPU µs per delivery):',
    '',
    '| Run | ' + TARGETS.map((target) => `\`${target.name}\``).join(' | ') + ' |',
    '|---|' + TARGETS.map(() => '---').join('|') + '|',
    ...runs.map((results, index) => `| ${index + 1} | ` + TARGETS.map((target) => `${Math.round(rate(results[target.name])).toLocaleString('en-US')}; ${fixed(cpu(results[target.name]), 3)}`).join(' | ') + ' |'),
    '',
    `Machine: ${facts.cpuModel}, ${facts.cpus} CPUs, Node ${facts.node}, ${facts.packages['nestjs-switchboard']}; prom-client ${packageVersion('prom-client')}, @opentelemetry/sdk-metrics ${packageVersion('@opentelemetry/sdk-metrics')}.`,
    '',
  ];
  const report = lines.join('\n');
  console.log(report);
  const outDir = join(ROOT, 'bench', '.results', date.replace(/[:.]/g, '-'));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'metrics-overhead.json'), JSON.stringify({ facts, config: config.fanout, hooks, runs, paired }, null, 2));
  if (append) {
    appendFileSync(join(ROOT, 'bench', 'RESULTS.md'), report);
    console.log('appended to bench/RESULTS.md');
  }
}

/**
 * Turns of a paired server: CPU per delivery with metrics on and off, and
 * the ratio of each "on" turn to the "off" turn before it. Turns that are
 * not a full turn of a burst are left out: the first and last of each burst
 * (their window spans the orchestrator's pause between bursts) show as a
 * wall time far above the others, or fewer broadcasts than the usual count.
 */
function pairedSummary(turns, median) {
  const usual = median(turns.map((turn) => turn.broadcasts));
  const wall = median(turns.map((turn) => turn.wallMs));
  const full = (turn) => turn !== undefined && turn.broadcasts === usual && turn.deliveries > 0 && turn.wallMs < wall * 3;
  const perDelivery = (turn) => turn.cpuMicros / turn.deliveries;
  const ratios = [];
  for (let index = 1; index < turns.length; index++) {
    const [before, turn] = [turns[index - 1], turns[index]];
    if (turn.on && !before.on && full(turn) && full(before)) {
      ratios.push(perDelivery(turn) / perDelivery(before));
    }
  }
  ratios.sort((a, b) => a - b);
  const kept = turns.filter(full);
  return {
    onTurns: kept.filter((turn) => turn.on).length,
    offTurns: kept.filter((turn) => !turn.on).length,
    onMicros: median(kept.filter((turn) => turn.on).map(perDelivery)),
    offMicros: median(kept.filter((turn) => !turn.on).map(perDelivery)),
    pairedRatio: median(ratios),
    q1: ratios.length > 0 ? ratios[Math.floor(ratios.length / 4)] : null,
    q3: ratios.length > 0 ? ratios[Math.floor((ratios.length * 3) / 4)] : null,
  };
}

/**
 * The hot path's added work, timed directly (median of 5 rounds of 200,000
 * calls, in this process): per broadcast, the two clock reads around the
 * fan-out and the `fannedOut` hook (room label, cell lookup, observe); per
 * handled message, the clock reads and `handlerFinished`. The fan-out runs
 * cannot resolve a cost this small on a shared machine; this bounds it.
 */
async function hookCosts() {
  const dist = process.env.METRICS_DIST;
  const metricsLib = await import(pathToFileURL(join(dist, 'metrics', 'index.js')).href);
  const { Registry } = await import('prom-client');
  const { MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
  const discard = { export: (_metrics, done) => done({ code: 0 }), forceFlush: async () => {}, shutdown: async () => {} };
  // One gateway path with one server, as the fan-out app has: what a scrape or a collection reads.
  const { GatewayStats } = await import(pathToFileURL(join(dist, 'stats', 'gateway-stats.js')).href);
  const server = { getStats: () => ({ ...new GatewayStats(), path: '/bench', connections: SIZE, rooms: 1 }) };
  const broker = { published: 0, publishDropped: 0, publishBuffered: 0, received: 0, subscriptions: 3, reconnects: 0, resubscribeCommands: 0 };
  const source = { paths: () => ['/bench'], serversAt: () => [server], nodes: () => [{}], stats: () => ({ published: 0, received: 0, publishFailures: 0, channels: 3, broker }) };
  const reader = new PeriodicExportingMetricReader({ exporter: discard, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const room = `fanout-${SIZE}`;
  const exporters = {
    prometheus: new metricsLib.PrometheusMetrics({ registry: new Registry(), path: false, rooms: { allow: [room] } }),
    otel: new metricsLib.OpenTelemetryMetrics({ meter: provider.getMeter('bench'), rooms: { allow: [room] } }),
  };
  const calls = 200_000;
  const time = (body) => {
    const rounds = [];
    for (let round = 0; round < 5; round++) {
      const started = performance.now();
      for (let i = 0; i < calls; i++) {
        body(i);
      }
      rounds.push(((performance.now() - started) * 1e6) / calls);
    }
    return Math.round(rounds.sort((a, b) => a - b)[2]);
  };
  const costs = {};
  for (const [name, exporter] of Object.entries(exporters)) {
    await exporter.start(source);
    costs[name] = {
      // What SwitchboardHub.deliverLocal adds around one fan-out when an exporter is installed.
      perBroadcast: time(() => {
        const started = performance.now();
        exporter.fannedOut('/bench', room, SIZE, (performance.now() - started) / 1000);
      }),
      // What the dispatcher adds per handled message.
      perHandler: time((i) => {
        const started = performance.now();
        exporter.handlerFinished('/bench', 'join', (performance.now() - started) / 1000, (i & 63) === 0);
      }),
    };
    // What a scrape (Prometheus) or a collection (OpenTelemetry) costs, once per interval (microseconds, median of 51).
    const collections = [];
    for (let round = 0; round < 51; round++) {
      const started = performance.now();
      await (name === 'prometheus' ? exporter.scrape() : reader.collect());
      collections.push((performance.now() - started) * 1000);
    }
    costs[name].perCollectionMicros = Math.round(collections.sort((a, b) => a - b)[25]);
    await exporter.stop();
  }
  await provider.shutdown();
  return costs;
}

/** Builds lib/ into `dir` with tsc (ESM), beside a node_modules link to this checkout's, without touching dist/. */
function buildDist(dir) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  rmSync(dir, { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dir], { stdio: 'inherit', cwd: ROOT });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }) + '\n');
  const modules = join(dirname(dir), 'node_modules');
  if (!existsSync(modules)) {
    symlinkSync(join(ROOT, 'node_modules'), modules);
  }
}

function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === HERE) {
  await orchestrate();
}
