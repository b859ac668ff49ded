// socket.io with its defaults (the gateway's `path` becomes socket.io's
// path). Clients connect with the websocket transport only, so no long
// polling is involved. Fan-out uses socket.io's rooms.
import { IoAdapter } from '@nestjs/platform-socket.io';
import { startNestApp } from './nest-app.mjs';

export const start = (options = {}) => startNestApp((app) => new IoAdapter(app), { ...options, rooms: 'native' });
