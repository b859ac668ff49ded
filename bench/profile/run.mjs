// Profiling one server on one scenario, outside `npm run bench`: the same
// server processes (bench/servers/main.mjs, pinned to core 0) and the same
// clients, driven from this process (pinned to core 1), with the cost
// measured over a fixed amount of work instead of a fixed time, so that
// two builds can be compared by instruction counts.
//
//   node bench/profile/run.mjs <target> <scenario> [--mode=cpu|cpuprof|heapprof|callgrind] [--count=N] [--warmup=N] [--repeat=R]
//                              [--parallel=P] [--node-args="--trace-gc"]
//
// target:   a target name of lib/targets.mjs (raw-ws, raw-ws-corked,
//           raw-ws-express, switchboard, nest-ws, switchboard-candidate with
//           BENCH_CANDIDATE=<dir>)
// scenario: churn  N connect → close cycles, P loops in parallel (default 50);
//           echo   N echo round trips, P clients (default 50) × 10 in flight;
//           fanout N broadcasts to one room of BENCH_FANOUT_SIZES[0]
//                  (default 5000) members, one per event-loop turn.
// mode:     cpu       server CPU time per operation from /proc (default);
//           cpuprof   plus V8's CPU profile of the measured window (sampling
//                     every 100 µs), written to bench/.results/profile/, and
//                     a summary by function and by package (profile/summarize.mjs);
//           heapprof  V8's sampling heap profiler over the measured window
//                     (every 256 bytes on average, collected objects
//                     included): bytes allocated per operation, by function;
//                     with --live=1 only what is still alive at the end of the
//                     window (retained); with --survivors=1 what no scavenge
//                     collected (promoted to or allocated in the old space:
//                     what makes scavenges and major GCs expensive);
//           callgrind the server runs under valgrind --tool=callgrind,
//                     instrumenting only the measured window (--instr-atstart=no, then callgrind_control -i on/off): user-space
//                     instructions per operation, repeatable to about 1%
//                     (no kernel time, no timing noise from other processes).
// Each of the R repeats runs the warm-up (default: as much as the measured
// work) and then the measured work on the same server process.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processCpuSeconds } from '../lib/cpu.mjs';
import { request } from '../lib/ipc.mjs';
import { FANOUT } from '../lib/wire.mjs';
import { TARGETS } from '../lib/targets.mjs';
import { loadClient, runPool, sleep } from '../load/pool.mjs';
import { splitCallgrind } from './callgrind-split.mjs';
import { summarizeHeapProfile, summarizeProfile } from './summarize.mjs';

const BENCH = dirname(dirname(fileURLToPath(import.meta.url)));
const SERVER_MAIN = join(BENCH, 'servers', 'main.mjs');

const [targetName, scenario, ...rest] = process.argv.slice(2);
const flags = Object.fromEntries(rest.map((arg) => /^--([^=]+)=(.*)$/.exec(arg)).filter(Boolean).map(([, key, value]) => [key, value]));
const mode = flags.mode ?? 'cpu';
const target = TARGETS.find((candidate) => candidate.name === targetName);
if (target === undefined || !['churn', 'echo', 'fanout'].includes(scenario) || !['cpu', 'cpuprof', 'heapprof', 'callgrind'].includes(mode)) {
  console.error('usage: node bench/profile/run.mjs <target> churn|echo|fanout [--mode=cpu|cpuprof|heapprof|callgrind] [--count=N] [--warmup=N] [--repeat=R]');
  console.error(`targets: ${TARGETS.map((candidate) => candidate.name).join(', ')}`);
  process.exit(2);
}
const defaults = { churn: 20_000, echo: 200_000, fanout: 40 };
const count = Number(flags.count ?? defaults[scenario]);
const warmup = Number(flags.warmup ?? count);
const repeat = Number(flags.repeat ?? 1);
// Churn loops / echo clients in parallel. --parallel=1 makes each event-loop turn of the server handle one
// connection (or message) alone: the most repeatable instruction counts, for comparing two builds.
const parallel = Number(flags.parallel ?? 50);
const members = Number((process.env.BENCH_FANOUT_SIZES ?? '5000').split(',')[0]);
const outDir = join(BENCH, '.results', 'profile');
mkdirSync(outDir, { recursive: true });
const stamp = `${targetName}-${scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}`;

// This process is the load generator: core 1, as in the benchmark.
execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });

const server = await startServer();
const { port } = server.hello;
try {
  const driver = await loadClient(target.client);
  const work = await prepare(driver, port);
  for (let round = 0; round < repeat; round++) {
    await work.run(warmup);
    await sleep(200);
    const measured = await measure(() => work.run(count));
    report(round, measured);
  }
  await work.close?.();
} finally {
  await stopServer();
}

// ---- Server process.

async function startServer() {
  // --node-args="--trace-gc --trace-gc-nvp": more flags for the server's node (its output goes to this stdout).
  const nodeArgs = ['--expose-gc', ...(flags['node-args'] ?? '').split(' ').filter(Boolean)];
  const app = scenario === 'fanout' ? 'fanout' : 'echo';
  const args = [SERVER_MAIN, target.server, JSON.stringify({ app, gateway: target.gateway ?? {} })];
  let command = 'taskset';
  let commandArgs = ['-c', '0', process.execPath, ...nodeArgs, ...args];
  if (mode === 'callgrind') {
    const outFile = join(outDir, `${stamp}.callgrind.%p`);
    commandArgs = [
      '-c', '0', 'valgrind', '--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', '--dump-instr=no',
      `--callgrind-out-file=${outFile}`, process.execPath, ...nodeArgs, ...args,
    ];
  }
  const child = spawn('bash', ['-c', `ulimit -n 20000 && exec ${command} "$@"`, 'profile', ...commandArgs], {
    stdio: ['ignore', 'inherit', mode === 'callgrind' ? 'ignore' : 'inherit', 'ipc'],
  });
  const [hello] = await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`server exited (${code}) before it was ready`);
    }),
  ]);
  child.hello = hello;
  child.benchName = `server ${target.name}`;
  return child;
}

async function stopServer() {
  const exited = once(server, 'exit');
  server.send({ type: 'stop' });
  await exited;
}

function callgrind(option) {
  execFileSync('callgrind_control', [option, String(server.hello.pid)], { stdio: 'ignore' });
}

// ---- The work, per scenario.

async function prepare(driver, port) {
  if (scenario === 'churn') {
    return {
      async run(cycles) {
        let left = cycles;
        const loop = async () => {
          while (left > 0) {
            left--;
            await driver.cycle(port, { lean: true });
          }
        };
        await Promise.all(Array.from({ length: parallel }, loop));
      },
    };
  }
  if (scenario === 'echo') {
    const connections = await runPool(parallel, 50, () => driver.connect(port, { lean: true }));
    let waiting;
    let left = 0;
    let outstanding = 0;
    for (const connection of connections) {
      connection.onReplies((replies) => {
        outstanding -= replies;
        const more = Math.min(replies, left);
        left -= more;
        if (more > 0) {
          outstanding += more;
          connection.send(more);
        }
        if (outstanding === 0) {
          waiting?.();
        }
      });
    }
    return {
      async run(messages) {
        const done = new Promise((resolve) => {
          waiting = resolve;
        });
        left = messages;
        for (const connection of connections) {
          const first = Math.min(10, left);
          left -= first;
          outstanding += first;
          if (first > 0) {
            connection.send(first);
          }
        }
        await done;
      },
      close: () => Promise.all(connections.map((connection) => connection.close())),
    };
  }
  // Fan-out: one room, members held here; a run is `broadcasts` ticks, one per turn.
  const room = `${FANOUT.room}-${members}`;
  let received = 0;
  await runPool(members, 100, () => driver.joinRoom(port, { lean: true, room, onTick: () => received++ }));
  let seq = 0;
  return {
    async run(broadcasts) {
      const expected = received + broadcasts * members;
      const sent = await request(server, 'fanoutBroadcast', { room, seqStart: seq, count: broadcasts, perTurn: 1 }, 600_000);
      seq += broadcasts;
      const deadline = Date.now() + 120_000;
      while (received < expected && Date.now() < deadline) {
        await sleep(5);
      }
      return sent;
    },
  };
}

// ---- Measuring one window.

async function measure(body) {
  const pid = server.hello.pid;
  const heapBefore = await request(server, 'heapStats');
  if (mode === 'cpuprof') {
    await request(server, 'cpuProfileStart', { intervalMicros: 100 });
  } else if (mode === 'heapprof') {
    // --live=1: only what is still alive when the window ends (retained);
    // --survivors=1: what no scavenge collected (promoted or allocated old), even if a major GC did later.
    await request(server, 'heapProfileStart', {
      samplingInterval: 256,
      includeCollected: flags.live === undefined && flags.survivors === undefined,
      includeCollectedByMajorGc: flags.live === undefined,
    });
  } else if (mode === 'callgrind') {
    callgrind('-z');
    callgrind('--instr=on');
  }
  const cpuBefore = processCpuSeconds(pid);
  const startedAt = performance.now();
  await body();
  const seconds = (performance.now() - startedAt) / 1000;
  const cpuAfter = processCpuSeconds(pid);
  let profile;
  if (mode === 'cpuprof') {
    profile = await request(server, 'cpuProfileStop', { file: join(outDir, `${stamp}.cpuprofile`) });
  } else if (mode === 'heapprof') {
    profile = await request(server, 'heapProfileStop', { file: join(outDir, `${stamp}.heapprofile`) });
  } else if (mode === 'callgrind') {
    callgrind('--instr=off');
    callgrind('--dump');
  }
  const heapAfter = await request(server, 'heapStats');
  return {
    seconds,
    user: cpuAfter.user - cpuBefore.user,
    system: cpuAfter.system - cpuBefore.system,
    gcCount: heapAfter.gcCount - heapBefore.gcCount,
    gcMillis: heapAfter.gcMillis - heapBefore.gcMillis,
    gcMaxMillis: heapAfter.gcMaxMillis,
    majorGcCount: heapAfter.majorGcCount - heapBefore.majorGcCount,
    profile,
  };
}

function report(round, measured) {
  const unit = { churn: 'conn', echo: 'msg', fanout: 'broadcast' }[scenario];
  const per = (value) => (value * 1e6) / count;
  const lines = [
    `${target.name} ${scenario} round ${round + 1}/${repeat}: ${count} ${unit} in ${measured.seconds.toFixed(2)} s (${Math.round(count / measured.seconds)} ${unit}/s); ` +
      `server CPU ${per(measured.user + measured.system).toFixed(1)} µs/${unit} (user ${per(measured.user).toFixed(1)}, system ${per(measured.system).toFixed(1)}); ` +
      `GC ${measured.gcCount} collections (${measured.majorGcCount} major), ${measured.gcMillis.toFixed(1)} ms`,
  ];
  if (mode === 'callgrind') {
    const { file, ir } = lastDump();
    const split = splitCallgrind(readFileSync(file, 'utf8'));
    const per = (value) => Math.round(value / count).toLocaleString('en-US');
    lines.push(
      `  callgrind: ${ir.toLocaleString('en-US')} instructions, ${per(ir)} per ${unit}: mutator ${per(split.mutator)}, GC ${per(split.gc)}, ` +
        `JIT compile ${per(split.compile)}, Error stack capture ${per(split.errorStack)} (${file})`,
    );
  }
  if (measured.profile && mode === 'cpuprof') {
    lines.push(`  profile: ${measured.profile.file} (${measured.profile.samples} samples)`);
    lines.push(summarizeProfile(JSON.parse(readFileSync(measured.profile.file, 'utf8')), { perOperation: count, unit }));
  } else if (measured.profile) {
    lines.push(`  heap profile: ${measured.profile.file}`);
    lines.push(summarizeHeapProfile(JSON.parse(readFileSync(measured.profile.file, 'utf8')), { perOperation: count, unit }));
  }
  console.log(lines.join('\n'));
}

/** The newest dump of this run's callgrind output (`<file>.<pid>.<n>`) and its total instructions. */
function lastDump() {
  const base = join(outDir, `${stamp}.callgrind.${server.hello.pid}`);
  let newest;
  for (let n = 1; existsSync(`${base}.${n}`); n++) {
    newest = `${base}.${n}`;
  }
  if (newest === undefined) {
    throw new Error(`no callgrind dump at ${base}.*`);
  }
  const text = readFileSync(newest, 'utf8');
  // `totals:` (the sum over the dump); callgrind leaves `summary:` at 0 when instrumentation was toggled.
  const match = /^totals:\s*(\d+)/m.exec(text);
  return { file: newest, ir: Number(match?.[1] ?? NaN) };
}
