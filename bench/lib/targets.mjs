// What is compared. A target is a server kind (bench/servers/<server>.mjs)
// plus the client protocol the load generator speaks to it
// (bench/load/clients/<client>.mjs), and optionally @WebSocketGateway
// options (`gateway`). raw-ws comes first: every ratio in the report is
// against it, measured in the same run, except for the compression memory
// scenario, whose ratios are against SwitchboardAdapter with compression off.
// Some scenarios have further references, compared with in the same way
// and run whenever the scenario runs: raw ws with replies corked per tick
// (echo: the honest ceiling), raw ws on an Express HTTP server (connection
// rate: the HTTP server the Nest apps sit on).
export const BASELINE = 'raw-ws';

const SCENARIO_BASELINES = { compression: 'switchboard' };

const SCENARIO_REFERENCES = { echo: ['raw-ws-corked'], churn: ['raw-ws-express'] };

/** The target every other one is compared with in this scenario. */
export function baselineFor(scenario) {
  return SCENARIO_BASELINES[scenario] ?? BASELINE;
}

/** Further targets every other one is compared with in this scenario (besides the baseline). */
export function referencesFor(scenario) {
  return SCENARIO_REFERENCES[scenario] ?? [];
}

/** Whether this target always runs when its scenario runs (BENCH_ONLY does not drop it). */
export function isReferenceOf(scenario, name) {
  return baselineFor(scenario) === name || referencesFor(scenario).includes(name);
}

/**
 * BENCH_CANDIDATE=<dir of another checkout, built>: SwitchboardAdapter from
 * that checkout's dist/esm, measured beside `switchboard` in the same run
 * (a lib change before and after, with the same-run ratios of both).
 */
export const CANDIDATE = process.env.BENCH_CANDIDATE || undefined;

export const TARGETS = [
  {
    name: 'raw-ws',
    label: 'raw ws (hand-written dispatch)',
    server: 'raw-ws',
    client: 'ws-json',
    scenarios: ['echo', 'idle', 'churn', 'fanout'],
  },
  {
    // The honest echo ceiling: raw ws that also writes one tick's replies with one syscall.
    name: 'raw-ws-corked',
    label: 'raw ws, replies corked per tick (one write per read)',
    server: 'raw-ws-corked',
    client: 'ws-json',
    scenarios: ['echo'],
  },
  {
    name: 'raw-ws-express',
    label: 'raw ws on an Express HTTP server',
    server: 'raw-ws-express',
    client: 'ws-json',
    scenarios: ['churn'],
  },
  {
    name: 'nest-ws',
    label: 'Nest 12 + @nestjs/platform-ws WsAdapter',
    server: 'nest-ws',
    client: 'ws-json',
    scenarios: ['echo', 'idle', 'churn', 'fanout'],
  },
  {
    name: 'nest-socketio',
    label: 'Nest 12 + @nestjs/platform-socket.io',
    server: 'nest-socketio',
    client: 'socketio',
    scenarios: ['echo', 'idle', 'churn', 'fanout'],
  },
  {
    name: 'switchboard',
    label: 'Nest 12 + SwitchboardAdapter',
    server: 'nest-switchboard',
    client: 'ws-json',
    // In `compression` it is the baseline: compression off (the default).
    scenarios: ['echo', 'idle', 'churn', 'fanout', 'compression'],
    compressionLabel: 'SwitchboardAdapter, compression off (default)',
  },
  ...(CANDIDATE === undefined
    ? []
    : [
        {
          name: 'switchboard-candidate',
          label: `Nest 12 + SwitchboardAdapter, candidate build (${CANDIDATE})`,
          server: 'nest-switchboard-candidate',
          client: 'ws-json',
          scenarios: ['echo', 'idle', 'churn', 'fanout'],
        },
      ]),
  {
    // Recovery on: each room broadcast is positioned and kept in its room's history (issue 12).
    name: 'switchboard-recovery',
    label: 'Nest 12 + SwitchboardAdapter, connection-state recovery on',
    server: 'nest-switchboard-recovery',
    client: 'ws-json',
    scenarios: ['fanout'],
  },
  {
    // The same server as `switchboard`: only the message shape differs, so
    // idle memory and connection rate would repeat that row.
    name: 'switchboard-ack',
    label: 'Nest 12 + SwitchboardAdapter, ack messages (with id)',
    server: 'nest-switchboard',
    client: 'ws-ack',
    scenarios: ['echo'],
  },
  {
    name: 'switchboard-deflate',
    label: 'Nest 12 + SwitchboardAdapter, compression on (defaults)',
    compressionLabel: 'SwitchboardAdapter, compression on (defaults: no context takeover)',
    server: 'nest-switchboard',
    gateway: { compression: {} },
    client: 'ws-json',
    scenarios: ['compression'],
  },
  {
    name: 'switchboard-deflate-takeover',
    label: 'Nest 12 + SwitchboardAdapter, compression on with context takeover',
    compressionLabel: 'SwitchboardAdapter, compression on, serverContextTakeover + clientContextTakeover',
    server: 'nest-switchboard',
    gateway: { compression: { serverContextTakeover: true, clientContextTakeover: true } },
    client: 'ws-json',
    scenarios: ['compression'],
  },
  {
    name: 'switchboard-deflate-small',
    label: 'Nest 12 + SwitchboardAdapter, compression on, small window',
    compressionLabel: 'SwitchboardAdapter, compression on, windowBits 10, memLevel 4',
    server: 'nest-switchboard',
    gateway: { compression: { windowBits: 10, memLevel: 4 } },
    client: 'ws-json',
    scenarios: ['compression'],
  },
];
