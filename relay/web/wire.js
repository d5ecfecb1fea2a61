// The attach socket's two kinds of message (docs/PROTOCOL.md, "Attach
// socket"): text messages are the relay's envelopes (link, ping, pong);
// binary messages are session messages, each the UTF-8 JSON of one
// DeviceMsg or DaemonMsg, which the relay passes on unread.
//
// Pure: of the platform only TextEncoder and TextDecoder, which node has
// too (node's tests import it).

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A session message (DeviceMsg) as the bytes of its binary message. */
export function encodeMessage(m) {
  return encoder.encode(JSON.stringify(m));
}

/** One message of the socket, as `ev.data` gives it (binaryType
 *  'arraybuffer'): `{ frame }` for an envelope (text), `{ message }` for a
 *  session message (binary), or null when it does not decode. */
export function decodeIncoming(data) {
  try {
    if (typeof data === 'string') return { frame: JSON.parse(data) };
    return { message: JSON.parse(decoder.decode(data)) };
  } catch {
    return null;
  }
}

/** The close code of a relay of protocol 1, which refuses binary
 *  messages: it cannot carry this page's session messages. */
export const OLDER_RELAY = 1003;
