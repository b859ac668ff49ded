// WsAdapter has no rooms: the fan-out gateway keeps them by hand (see nest-app.mjs).
import { WsAdapter } from '@nestjs/platform-ws';
import { startNestApp } from './nest-app.mjs';

export const start = (options = {}) => startNestApp((app) => new WsAdapter(app), { ...options, rooms: 'map' });
