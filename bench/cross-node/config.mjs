// Parameters of the cross-node benchmark. The full profile takes about 12
// minutes on this 2-core machine when nothing else runs (28 when another
// benchmark shared the cores: disturbed steps are repeated); --quick (or
// XNODE_QUICK=1) about 3, for development only (one run, ours on Redis and
// socket.io classic in both layouts, short steps: not comparable with a full run).
import { listEnv, numberEnv } from '../lib/env.mjs';
const argv = process.argv.slice(2);
export const quick = process.env.XNODE_QUICK === '1' || argv.includes('--quick');

const intEnv = (name, fallback) => numberEnv(name, fallback);

export const config = {
  quick,
  /** Runs of the headline pair (switchboard-redis and socketio-classic, layout A); every other stack runs once. */
  runs: intEnv('XNODE_RUNS', quick ? 1 : 3),
  /** Stacks (stacks.mjs) and layouts to measure; default: all of them but the experiments (quick: ours on Redis and socket.io classic). */
  stacks: listEnv('XNODE_STACKS', quick ? ['switchboard-redis', 'socketio-classic'] : []),
  layouts: listEnv('XNODE_LAYOUTS', ['A', 'B']),
  /** Clients: 'lean' (both protocols on the lean WebSocket client) or 'package' (ws and socket.io-client). See clients.mjs. */
  client: process.env.XNODE_CLIENT === 'package' ? 'package' : 'lean',
  cores: { server: 0, load: 1 },
  rooms: 300,
  roomSize: 10,
  /** Connects (each followed by its join) in flight at once. */
  concurrency: 50,
  /** After the last join, before the warm-up (subscriptions the join did not wait for: socket.io sharded). */
  settleMs: 500,
  /** Warm-up: every client sends `warmupRounds` times, at this rate (broadcasts/s); every delivery is checked like the rest. */
  warmupRate: 1000,
  warmupRounds: quick ? 1 : 2,
  /**
   * Peak search: steps of `rampMs` at `rampStart` broadcasts/s, times
   * `rampFactor` while the step keeps up; then `refineSteps` steps between
   * the last rate that kept up and the first that did not. A step keeps up
   * when every delivery arrived and the deliveries per second (from its
   * first send to its last delivery) are at least `keepUp` of the offered
   * rate: a queue that grows during the step fails it.
   */
  rampStart: intEnv('XNODE_RAMP_START', 800),
  rampFactor: 1.5,
  rampMaxSteps: 12,
  rampMs: intEnv('XNODE_RAMP_MS', quick ? 1200 : 2000),
  refineSteps: quick ? 1 : 2,
  keepUp: 0.95,
  /** The peak step (at the best rate found, longer) gives deliveries/s and CPU per delivery. */
  peakMs: intEnv('XNODE_PEAK_MS', quick ? 2000 : 4000),
  /** The latency step, at half the peak's deliveries/s. */
  halfMs: intEnv('XNODE_HALF_MS', quick ? 2500 : 5000),
  /** Pause between steps (GC, closing work of one step stays out of the next). */
  gapMs: 300,
  /** A step is over when no delivery came for this long (then the missing ones are lost). */
  stallMs: 2000,
  /** Before each stack: wait until both cores are under this busy share, at most `quietMaxWaitMs`. */
  quietPercent: intEnv('XNODE_QUIET_PERCENT', 15),
  quietMaxWaitMs: 60_000,
  /** A peak or latency step where other processes took more than this many points of a core is repeated (up to `retries` times). */
  foreignLoadPoints: 15,
  retries: process.env.XNODE_RETRIES === '0' ? 0 : intEnv('XNODE_RETRIES', 2),
  /** Generator CPU at or above this: the figures may be the generator's. */
  generatorBoundPercent: 90,
  fdLimit: 65536,
  /** The goals of issue 11 §8, against socket.io classic of the same run. */
  goals: { rateRatio: 2.5, cpuRatio: 0.5, p99Ms: 25 },
};
