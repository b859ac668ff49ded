// Entry of the load generator process (pinned to its own core by run.mjs).
// Each request runs one step of a measurement against the server named in it.
import { serveRequests } from '../lib/ipc.mjs';
import { churnSlice } from './churn.mjs';
import { echoFinish, echoOpen, echoSlice } from './echo.mjs';
import { fanoutArm, fanoutClose, fanoutCollect, fanoutFinish, fanoutOpen } from './fanout.mjs';
import { closeIdle, openIdle } from './idle.mjs';

serveRequests({
  echoOpen,
  echoSlice,
  echoFinish,
  churnSlice,
  idleOpen: openIdle,
  idleClose: closeIdle,
  fanoutOpen,
  fanoutArm,
  fanoutCollect,
  fanoutFinish,
  fanoutClose,
  // Fan-out members are not closed one by one: exiting closes them all.
  stop: closeIdle,
});
