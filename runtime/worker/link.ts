/**
 * The Worker's own connection to the server: connected once, then every
 * frame of this app goes through `link.out`. The socket permission is
 * revoked right after connecting, so app code cannot open another.
 * @module
 */
import { encodeUp } from "./frame_meta.ts";
import { FRAME, FrameWriter, readFrames } from "./frames.ts";
import type { Bytes } from "./frames.ts";

// Taken before app code runs: the app may replace the globals.
const connect = Deno.connect;
const revoke = Deno.permissions.revokeSync.bind(Deno.permissions);

/** What arrives on the connection, by frame type. */
export type Dispatch = (
  id: number,
  type: number,
  meta: string,
  body: Bytes | undefined,
) => void;

interface Link {
  out: FrameWriter;
  serve(dispatch: Dispatch): Promise<void>;
}

/** The server's frames are trusted; a generous bound still catches a broken stream. */
const MAX_FRAME = 256 * 1024 * 1024;

export let link: Link;

/** Connects to the server, says who this Worker is, and gives up the socket. */
export async function openLink(socket: string, token: string, onClose: () => void): Promise<void> {
  const conn = await connect({ transport: "unix", path: socket });
  revoke({ name: "net", host: `unix:${socket}` });
  revoke({ name: "read", path: socket });
  revoke({ name: "write", path: socket });
  const out = new FrameWriter(conn, onClose);
  out.frame(0, FRAME.HELLO, encodeUp(FRAME.HELLO, { token }));
  link = {
    out,
    serve: (dispatch) => readFrames((b) => conn.read(b), dispatch, () => MAX_FRAME),
  };
}
