// SwitchboardAdapter with connection-state recovery on (its own hub, in-memory history): every room
// broadcast gets a stream position and is stored in the room's ring buffer. Compared with
// `nest-switchboard` in the same run: the cost of recovery on broadcast throughput.
import { SwitchboardAdapter } from 'nestjs-switchboard';
import { startNestApp } from './nest-app.mjs';

export const start = (options = {}) => startNestApp((app) => new SwitchboardAdapter(app, { recovery: true }), { ...options, rooms: 'native' });
