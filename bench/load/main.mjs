// Entry of the load generator process (pinned to its own core by run.mjs).
// Each request runs one measurement against the server named in it.
import { serveRequests } from '../lib/ipc.mjs';
import { runChurn } from './churn.mjs';
import { runEcho } from './echo.mjs';
import { closeIdle, openIdle } from './idle.mjs';

serveRequests({
  echo: runEcho,
  idleOpen: openIdle,
  idleClose: closeIdle,
  churn: runChurn,
  stop: closeIdle,
});
