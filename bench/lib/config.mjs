// Benchmark parameters in one place. The full profile is what `npm run bench`
// runs (about 15 minutes on 2 cores); BENCH_QUICK=1 (or --quick) is for
// development only: one run, short windows, fewer idle connections, so its
// numbers are not comparable with a full run.
import { listEnv, numberEnv } from './env.mjs';
const argv = process.argv.slice(2);
const quick = process.env.BENCH_QUICK === '1' || argv.includes('--quick');

const intEnv = (name, fallback) => numberEnv(name, fallback, { integer: true });

export const config = {
  quick,
  runs: intEnv('BENCH_RUNS', quick ? 1 : 3),
  /** Restrict to some targets (names from targets.mjs), e.g. BENCH_ONLY=raw-ws,switchboard. */
  only: listEnv('BENCH_ONLY', []),
  /** Restrict to some scenarios: echo, idle, churn, fanout, compression. */
  scenarios: listEnv('BENCH_SCENARIOS', ['echo', 'idle', 'churn', 'fanout', 'compression']),
  /** Client for the ws-protocol servers: 'lean' (load/clients/lean-ws.mjs) or 'ws' (the package), see lean-ws.mjs for why. */
  wsClient: process.env.BENCH_WS_CLIENT === 'ws' ? 'ws' : 'lean',
  /** Servers get core 0, the load generator core 1; the orchestrator only waits on IPC while a window runs. */
  cores: { server: 0, load: 1 },
  /**
   * Other processes on our cores (a shared machine): wait for both cores to
   * be under `quietPercent` busy before starting servers, and repeat a slice
   * (up to `retries` times) when a core was more than `foreignLoadPoints`
   * busier than our processes on it.
   */
  quietPercent: 10,
  foreignLoadPoints: 10,
  retries: intEnv('BENCH_RETRIES', 2),
  /** Soft fd limit asked for each child; capped to the hard limit (see processes.mjs). */
  fdLimit: 65536,
  /**
   * Echo and connection rate run interleaved: every server is up at once on
   * the server core and the load generator drives them in turn, one slice
   * each, in a rotating order. The host's CPU speed drifts by tens of percent
   * within seconds (a shared VM), so back-to-back windows per server would
   * compare different machines; slices spread every server over the same
   * period. Per run and server: one warm-up of `warmupMs`, then
   * `durationMs / sliceMs` slices, each `sliceWarmupMs` + `sliceMs` measured.
   */
  echo: {
    clients: intEnv('BENCH_ECHO_CLIENTS', 50),
    inflight: intEnv('BENCH_ECHO_INFLIGHT', 10),
    warmupMs: intEnv('BENCH_ECHO_WARMUP_MS', quick ? 1000 : 3000),
    durationMs: intEnv('BENCH_ECHO_DURATION_MS', quick ? 4000 : 10000),
    sliceWarmupMs: 250,
    sliceMs: intEnv('BENCH_SLICE_MS', 1000),
  },
  idle: {
    counts: listEnv('BENCH_IDLE_COUNTS', quick ? ['1000', '2000'] : ['5000', '10000']).map(Number),
    /** Connects in flight at once while ramping up (keeps the accept backlog from overflowing). */
    concurrency: intEnv('BENCH_IDLE_CONCURRENCY', 100),
    /** Connections opened and closed before the baseline, so one-time lazy initialisation is not counted per connection. */
    warmupConnections: 200,
    /** Pause after the last connect, so any deferred per-connection work has run before gc. */
    settleMs: 500,
  },
  churn: {
    parallel: intEnv('BENCH_CHURN_PARALLEL', 50),
    warmupMs: intEnv('BENCH_CHURN_WARMUP_MS', quick ? 1000 : 2000),
    durationMs: intEnv('BENCH_CHURN_DURATION_MS', quick ? 4000 : 8000),
    sliceWarmupMs: 250,
    sliceMs: intEnv('BENCH_SLICE_MS', 1000),
  },
  /**
   * Room fan-out, for each room size: every server of the scenario runs at
   * once with its own load generator process (all on the load core; only
   * the one being driven is busy), holding `size` clients joined to one
   * room. A burst is `deliveriesPerBurst / size` broadcasts sent by the
   * server as fast as it can, yielding to the event loop after about
   * `yieldEvery` deliveries (at least one broadcast per turn). Per run and
   * size: one warm-up burst per server (`warmupShare` of a burst, every
   * tick of it validated in full), then `bursts` measured bursts per
   * server, interleaved in rotating order like the slices above.
   */
  fanout: {
    sizes: listEnv('BENCH_FANOUT_SIZES', quick ? ['1000', '2000'] : ['1000', '5000']).map(Number),
    deliveriesPerBurst: intEnv('BENCH_FANOUT_DELIVERIES', quick ? 60_000 : 100_000),
    bursts: intEnv('BENCH_FANOUT_BURSTS', quick ? 2 : 3),
    warmupShare: 0.5,
    yieldEvery: intEnv('BENCH_FANOUT_YIELD_EVERY', 2000),
    /** Connects (each followed by its join) in flight at once. */
    concurrency: intEnv('BENCH_FANOUT_CONCURRENCY', 100),
    /** A burst is over when every member got every tick, or when no tick arrived for this long. */
    stallMs: 2000,
    /** socket.io members: socket.io-client (default) or, for a cross-check, the lean socket.io client in load/clients/socketio.mjs. */
    socketIoClient: process.env.BENCH_SIO_CLIENT === 'lean' ? 'lean' : 'socket.io-client',
  },
  /**
   * Memory per connection of SwitchboardAdapter with permessage-deflate off,
   * on (its defaults) and on with context takeover, measured like idle
   * memory, except that each connection first exchanges one compressible
   * message with the server (zlib contexts are created on first use).
   */
  compression: {
    counts: [intEnv('BENCH_COMPRESSION_CONNECTIONS', quick ? 500 : 2000)],
    concurrency: intEnv('BENCH_IDLE_CONCURRENCY', 100),
    warmupConnections: 50,
    settleMs: 500,
    /** The `ws` package client: the lean client offers no extension. */
    client: 'ws-deflate',
  },
  /** Pause between two slices, so work a server defers (GC, closing sockets) does not land in the next server's slice. */
  sliceGapMs: 100,
  /** The ratios to raw ws the issues ask for (echo: to raw ws corked per tick; fan-out p99 also in every single run). */
  targets: { echo: 0.9, heapPerConnection: 1.3, churn: 0.95, fanoutRate: 1.0, fanoutP99: 1.0, fanoutP99EveryRun: 1.1 },
};
