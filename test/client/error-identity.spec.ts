import { beforeAll, describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { SwitchboardClientError } from '../../lib/client/index.js';

type ErrorClass = typeof SwitchboardClientError;

/**
 * The dual-package hazard for the client's error, as test/packaging/
 * dual-package.spec.ts checks it for the server's `SwitchboardError`: an app
 * may load two copies of the client (its ESM and CJS builds, or the browser
 * bundle beside an app build), and `instanceof SwitchboardClientError` must
 * answer the same for either copy's errors. The other copy is made two
 * ways: lib/client/client-error.ts bundled again by esbuild and imported from
 * a data: URL (a second module instance of the same source, as a second build
 * is), and a foreign class that carries only the same `Symbol.for` marker
 * (what any copy, of any build, has in common). Subclasses keep the ordinary
 * prototype check, as the server's brand does.
 */
describe('SwitchboardClientError across copies of the client', () => {
  let Copy: ErrorClass;

  beforeAll(async () => {
    const { outputFiles } = await build({ entryPoints: ['lib/client/client-error.ts'], bundle: true, write: false, format: 'esm', platform: 'neutral', logLevel: 'warning' });
    ({ SwitchboardClientError: Copy } = (await import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].text).toString('base64')}`)) as { SwitchboardClientError: ErrorClass });
  });

  it('is one identity for two copies of the module, both ways, with the fields kept', () => {
    expect(Copy).not.toBe(SwitchboardClientError);
    const theirs = new Copy('QUEUE_FULL', 'from the other copy', { max: 1 });
    const ours = new SwitchboardClientError('ABORTED', 'from this copy');
    expect(theirs instanceof SwitchboardClientError).toBe(true);
    expect(ours instanceof Copy).toBe(true);
    expect(ours instanceof SwitchboardClientError && theirs instanceof Copy).toBe(true);
    expect(theirs instanceof Error).toBe(true);
    expect([theirs.name, theirs.code, theirs.message, theirs.details]).toEqual(['SwitchboardClientError', 'QUEUE_FULL', 'from the other copy', { max: 1 }]);
  });

  it('accepts an error of a foreign class that carries the same Symbol.for marker, and nothing without it', () => {
    class OtherCopyError extends Error {
      readonly code = 'DISCONNECTED';
    }
    Object.defineProperty(OtherCopyError.prototype, Symbol.for('nestjs-switchboard.SwitchboardClientError'), { value: true });
    expect(new OtherCopyError('dropped') instanceof SwitchboardClientError).toBe(true);

    const lookalike = Object.assign(new Error('same fields'), { name: 'SwitchboardClientError', code: 'DISCONNECTED' });
    expect(lookalike instanceof SwitchboardClientError).toBe(false);
    expect([null, undefined, 'SwitchboardClientError', 1, {}].some((value) => value instanceof SwitchboardClientError || value instanceof Copy)).toBe(false);
  });

  it('keeps the marker off the instances: no own property for equality or JSON to see', () => {
    const error = new SwitchboardClientError('ABORTED', 'aborted');
    expect(Object.getOwnPropertySymbols(error)).toEqual([]);
    expect(error).toEqual(new SwitchboardClientError('ABORTED', 'aborted'));
  });

  it('leaves subclasses the ordinary prototype check', () => {
    class RoomFullError extends SwitchboardClientError {}
    class CopyRoomFullError extends Copy {}
    const sub = new RoomFullError('ROOM_FULL', 'full');
    expect(sub instanceof RoomFullError).toBe(true);
    expect(sub instanceof SwitchboardClientError).toBe(true);
    expect(sub instanceof Copy).toBe(true);
    expect(new CopyRoomFullError('ROOM_FULL', 'full') instanceof SwitchboardClientError).toBe(true);
    expect(new SwitchboardClientError('ROOM_FULL', 'full') instanceof RoomFullError).toBe(false);
    expect(new Copy('ROOM_FULL', 'full') instanceof RoomFullError).toBe(false);
    expect(sub instanceof CopyRoomFullError).toBe(false);
  });
});
