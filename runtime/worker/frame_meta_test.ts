/**
 * The frames' JSON meta, typed per frame type and direction. Most of what
 * is checked here is checked by the type checker (`deno task check`): each
 * `@ts-expect-error` fails the check if the line it marks ever compiles.
 */
import assert from "node:assert/strict";
import type { DownMeta, InitMeta, OpName, UpMeta } from "../protocol.ts";
import { encodeDown, encodeUp, parseDown, parseUp } from "./frame_meta.ts";
import { FRAME, type FrameType, FrameWriter, type JsonFrameType } from "./frames.ts";

/** `true` only when `A` and `B` are the same type. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

// Every JSON frame has a shape in one direction or the other, and nothing else does.
const shapes: Same<JsonFrameType, keyof UpMeta | keyof DownMeta> = true;
const oneWay: Same<keyof UpMeta & keyof DownMeta, never> = true;

const INIT: InitMeta = {
  style: "module",
  code: "export default () => new Response('')",
  net: [],
  env: {},
  app: { name: "a" },
  version: "0.0.0",
  maxWorkers: 1,
  maxResponseBytes: 1024,
  wsMaxMessageBytes: 1024,
};

const writer = () => new FrameWriter({ write: (d) => Promise.resolve(d.byteLength) }, () => {});

Deno.test("a frame's meta round-trips through its direction's encode and parse", () => {
  assert.ok(shapes && oneWay);
  assert.deepEqual(parseDown(FRAME.INIT, encodeDown(FRAME.INIT, INIT)), INIT);
  const job = { name: "sweep", cron: "* * * * *", source: "code", scheduledTime: 1 } as const;
  assert.equal(parseDown(FRAME.JOB, encodeDown(FRAME.JOB, job)).name, "sweep");
  const call = parseUp(FRAME.CALL, encodeUp(FRAME.CALL, { op: "kv.get", args: ["k"] }));
  assert.deepEqual(call, { op: "kv.get", args: ["k"] });
  // The encoded meta is a plain string: nothing is added at run time.
  assert.equal(encodeUp(FRAME.HELLO, { token: "t" }), '{"token":"t"}');
  assert.throws(() => parseUp(FRAME.LOG, "not json"), SyntaxError);
});

Deno.test("a wrong meta shape, direction or frame type does not compile", () => {
  const w = writer();
  w.frame(0, FRAME.INIT, encodeDown(FRAME.INIT, INIT));
  w.frame(0, FRAME.READY, "");
  w.frame(0, FRAME.REQUEST, "GET\nhttp://a.localhost/\n0");
  // @ts-expect-error -- INIT's meta lacks fields
  encodeDown(FRAME.INIT, { style: "module", code: "" });
  // @ts-expect-error -- JOB's source is "manifest" or "code"
  encodeDown(FRAME.JOB, { name: "x", cron: "* * * * *", source: "other", scheduledTime: 1 });
  // @ts-expect-error -- CALL goes up, never down
  encodeDown(FRAME.CALL, { op: "kv.get", args: [] });
  // @ts-expect-error -- an unknown operation
  encodeUp(FRAME.CALL, { op: "kv.nope", args: [] });
  // @ts-expect-error -- JSON made by hand is no frame's meta
  w.frame(0, FRAME.INIT, JSON.stringify(INIT));
  // @ts-expect-error -- the meta of another frame type
  w.frame(0, FRAME.START, encodeUp(FRAME.HELLO, { token: "t" }));
  // @ts-expect-error -- only READY's meta may be empty
  w.frame(0, FRAME.FAILED, "");
  // What the server reads from app code is a claim: each field is `unknown`.
  const claimed = parseUp(FRAME.CALL, '{"op":"kv.get","args":[]}');
  // @ts-expect-error -- not vouched for: check it before using it
  const op: OpName = claimed?.op;
  // @ts-expect-error -- no such field
  claimed?.opp;
  // What the Worker reads from the server is trusted, and typed.
  const job = parseDown(FRAME.JOB, '{"name":"n","cron":"","source":"code","scheduledTime":0}');
  const source: "manifest" | "code" = job.source;
  // A frame type not known statically takes text: the codec's own tests write that way.
  w.frame(0, FRAME.CALL as FrameType, "{}");
  assert.equal(typeof op === "string" && source, "code");
  w.close();
});
