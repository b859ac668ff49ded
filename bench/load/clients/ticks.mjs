// Reading fan-out ticks on the load generator: cheap enough for every
// delivery, with a full check for the warm-up bursts. Used by the ws-json
// and socket.io clients (a socket.io tick is `42["tick",{"seq":…,"t":…}]`,
// so the same scan finds its fields).
import { FANOUT, tickData } from '../../lib/wire.mjs';

const SEQ_KEY = Buffer.from('"seq":');
/** The time of the tick `readTick` read last (one shared object: no allocation per delivery). */
export const TICK = { t: NaN };

/**
 * Reads `seq` and `t` from a tick without parsing the whole message: the
 * servers encode `{"event":"tick","data":{"seq":N,"t":T,…}}`, so `"seq":`
 * is followed by digits, then `,"t":` and a number. Returns the sequence
 * number (and sets `TICK.t`), or -1 when the message has another shape.
 */
export function readTick(payload) {
  let index = payload.indexOf(SEQ_KEY);
  if (index === -1) {
    return -1;
  }
  index += SEQ_KEY.length;
  const digitsStart = index;
  let seq = 0;
  for (let byte = payload[index]; byte >= 0x30 && byte <= 0x39; byte = payload[++index]) {
    seq = seq * 10 + (byte - 0x30);
  }
  // ,"t":
  if (index === digitsStart || payload[index] !== 0x2c || payload[index + 1] !== 0x22 || payload[index + 2] !== 0x74 || payload[index + 3] !== 0x22 || payload[index + 4] !== 0x3a) {
    return -1;
  }
  const start = index + 5;
  let end = start;
  while (end < payload.length && payload[end] !== 0x2c && payload[end] !== 0x7d) {
    end++;
  }
  TICK.t = Number(payload.toString('latin1', start, end));
  return Number.isFinite(TICK.t) ? seq : -1;
}

/** Full check of a tick (warm-up bursts only): the whole message, parsed, is what the server was asked to send. */
export function isTick(message, seq, t) {
  const expected = tickData(seq, t);
  const data = message?.data;
  return (
    message?.event === FANOUT.event &&
    data?.seq === seq &&
    data.t === t &&
    data.room === expected.room &&
    data.user === expected.user &&
    data.text === expected.text
  );
}

