// The adapter under test, imported like an application would import it: from
// the package name, which resolves to the built dist/esm (run.mjs builds it
// when it is missing).
import { SwitchboardAdapter } from 'nestjs-switchboard';
import { startNestApp } from './nest-app.mjs';

export const start = () => startNestApp((app) => new SwitchboardAdapter(app));
