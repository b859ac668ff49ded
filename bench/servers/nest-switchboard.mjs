// The adapter under test, imported like an application would import it: from
// the package name, which resolves to the built dist/esm (run.mjs builds it
// when it is missing). Fan-out uses the adapter's rooms; `options.gateway`
// carries gateway options such as `compression`.
import { SwitchboardAdapter } from 'nestjs-switchboard';
import { startNestApp } from './nest-app.mjs';

export const start = (options = {}) => startNestApp((app) => new SwitchboardAdapter(app), { ...options, rooms: 'native' });
