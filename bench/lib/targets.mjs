// What is compared. A target is a server kind (bench/servers/<server>.mjs)
// plus the client protocol the load generator speaks to it
// (bench/load/clients/<client>.mjs). raw-ws comes first: every ratio in the
// report is against it, measured in the same run.
export const BASELINE = 'raw-ws';

export const TARGETS = [
  {
    name: 'raw-ws',
    label: 'raw ws (hand-written dispatch)',
    server: 'raw-ws',
    client: 'ws-json',
    scenarios: ['echo', 'idle', 'churn'],
  },
  {
    name: 'nest-ws',
    label: 'Nest 12 + @nestjs/platform-ws WsAdapter',
    server: 'nest-ws',
    client: 'ws-json',
    scenarios: ['echo', 'idle', 'churn'],
  },
  {
    name: 'nest-socketio',
    label: 'Nest 12 + @nestjs/platform-socket.io',
    server: 'nest-socketio',
    client: 'socketio',
    scenarios: ['echo', 'idle', 'churn'],
  },
  {
    name: 'switchboard',
    label: 'Nest 12 + SwitchboardAdapter',
    server: 'nest-switchboard',
    client: 'ws-json',
    scenarios: ['echo', 'idle', 'churn'],
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
];
