// What is compared. A target is a server kind (bench/servers/<server>.mjs)
// plus the client protocol the load generator speaks to it
// (bench/load/clients/<client>.mjs), and optionally @WebSocketGateway
// options (`gateway`). raw-ws comes first: every ratio in the report is
// against it, measured in the same run, except for the compression memory
// scenario, whose ratios are against SwitchboardAdapter with compression off.
export const BASELINE = 'raw-ws';

const SCENARIO_BASELINES = { compression: 'switchboard' };

/** The target every other one is compared with in this scenario. */
export function baselineFor(scenario) {
  return SCENARIO_BASELINES[scenario] ?? BASELINE;
}

export const TARGETS = [
  {
    name: 'raw-ws',
    label: 'raw ws (hand-written dispatch)',
    server: 'raw-ws',
    client: 'ws-json',
    scenarios: ['echo', 'idle', 'churn', 'fanout'],
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
