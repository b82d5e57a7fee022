/**
 * The WebSocket case of `runtime`: messages echoed flat out by an app on
 * fazt and by the same app on workerd. A few sockets each keep a window of
 * messages in flight (sent, not yet echoed); what is counted is echoes a
 * second and the server side's CPU per echo.
 * @module
 */
import WebSocket from "ws";
import { round } from "./lib/alternate.ts";
import { treeCpuSeconds } from "./lib/cpu.ts";

/** One message: 100 bytes of text, as a chat line might be. */
export const WS_MESSAGE = "m".repeat(100);

/** The echo app on fazt (`Deno.upgradeWebSocket`). */
export const FAZT_WS_ECHO = `export default (req: Request) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onmessage = (e) => socket.send(e.data);
  return response;
};`;

/** The echo route for workerd's module (`WebSocketPair`), for `path === "/ws"`. */
export const WORKERD_WS_ECHO = `function wsEcho() {
  const [client, server] = Object.values(new WebSocketPair());
  server.accept();
  server.addEventListener("message", (e) => server.send(e.data));
  return new Response(null, { status: 101, webSocket: client });
}`;

export interface EchoTarget {
  name: string;
  url: string;
  host?: string;
  pids: () => number[];
}

export interface EchoSample {
  messages_per_s: number;
  /** Server-side CPU per echoed message, microseconds. */
  cpu_us_per_message: number;
}

/** Messages each socket keeps in flight. */
const WINDOW = 16;

function open(t: EchoTarget): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(t.url, { headers: t.host ? { host: t.host } : {} });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.once(
      "unexpected-response",
      (_q: unknown, r: { statusCode: number }) =>
        reject(new Error(`${t.name}: the upgrade was answered ${r.statusCode}`)),
    );
  });
}

/** `sockets` sockets echoing for `seconds`. */
export async function measureEcho(
  t: EchoTarget,
  sockets: number,
  seconds: number,
): Promise<EchoSample> {
  const all = await Promise.all(Array.from({ length: sockets }, () => open(t)));
  let echoed = 0;
  let counting = false;
  let stop = false;
  const done = all.map((ws: WebSocket) =>
    new Promise<void>((resolve, reject) => {
      let inFlight = 0;
      const fill = () => {
        while (!stop && inFlight < WINDOW) {
          inFlight++;
          ws.send(WS_MESSAGE);
        }
        if (stop && inFlight === 0) resolve();
      };
      ws.on("message", () => {
        inFlight--;
        if (counting) echoed++;
        fill();
      });
      ws.once("close", () =>
        stop && inFlight === 0 ? resolve() : reject(new Error(`${t.name}: closed`)));
      fill();
    })
  );
  // A moment to warm up, then the counted window.
  await new Promise((r) => setTimeout(r, 300));
  const cpu0 = t.pids().reduce((a, p) => a + treeCpuSeconds(p), 0);
  const t0 = performance.now();
  counting = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = t.pids().reduce((a, p) => a + treeCpuSeconds(p), 0) - cpu0;
  const n = echoed;
  stop = true;
  await Promise.race([Promise.all(done), new Promise((r) => setTimeout(r, 2000))]);
  for (const ws of all) ws.terminate();
  return {
    messages_per_s: round(n / elapsed, 0),
    cpu_us_per_message: n ? round((cpu * 1e6) / n, 2) : NaN,
  };
}
