import type { Codec } from '../interfaces/codec.interface.js';
import { loadOptionalPackage } from '../internals/optional-package.js';

/** The part of `msgpackr`'s `Packr` this codec uses. */
interface MsgpackrPacker {
  pack(value: unknown): Buffer;
  unpack(frame: Buffer): unknown;
}

interface MsgpackrModule {
  Packr: new (options?: Record<string, unknown>) => MsgpackrPacker;
}

/**
 * MessagePack in binary frames, through `msgpackr` (an optional peer
 * dependency, loaded here on first use).
 *
 * `useRecords: false` keeps the output plain MessagePack that any client
 * library can read (msgpackr's record extension is msgpackr-only);
 * `mapsAsObjects` turns maps into plain objects as JSON would.
 */
export async function createMessagePackCodec(): Promise<Codec> {
  const msgpackr = await loadOptionalPackage<MsgpackrModule>('msgpackr', 'the MessagePack codec', () => import('msgpackr'));
  const packer = new msgpackr.Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });
  return {
    name: 'msgpack',
    binary: true,
    decode: (frame) => packer.unpack(frame),
    encode: (value) => packer.pack(value),
  };
}
