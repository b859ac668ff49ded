import { WsAdapter } from '@nestjs/platform-ws';
import { SwitchboardAdapter } from '../../lib/index.js';
import { dropInSuite, nestWsAdapter } from './drop-in.suite.js';
import { switchboard } from '../helpers/nest-app.js';

// The reference: @nestjs/platform-ws's WsAdapter.
dropInSuite(
  '@nestjs/platform-ws WsAdapter',
  nestWsAdapter,
  (app, parser) => new WsAdapter(app, { messageParser: parser as never }),
  () => new WsAdapter(),
);

// The same behaviour after the swap.
dropInSuite(
  'SwitchboardAdapter',
  switchboard,
  (app, parser) => new SwitchboardAdapter(app, { messageParser: parser as never }),
  () => new SwitchboardAdapter(),
);
