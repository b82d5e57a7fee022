import assert from "node:assert/strict";
import { concatBytes } from "../lib/bytes.ts";
import { deadline } from "../tests/deadline.ts";
import {
  encodeFrame,
  FRAME,
  type Frame,
  FrameReader,
  FrameWriter,
  type RawFrame,
} from "./protocol.ts";

const te = new TextEncoder();

const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

const FRAMES: Frame[] = [
  {
    id: 1,
    type: FRAME.REQUEST,
    meta: { method: "GET", url: "/a", headers: [] },
    body: new Uint8Array(),
  },
  { id: 2, type: FRAME.RESPONSE, meta: { status: 200, headers: [] }, body: te.encode("hello") },
  { id: 0xffffffff, type: FRAME.LOG, meta: [], body: new Uint8Array([0, 255, 13, 10]) },
  {
    id: 7,
    type: FRAME.CALL,
    meta: { op: "kv.set", args: ["k", { é: "ü" }] },
    body: new Uint8Array(70_000),
  },
];
/** Encodes any frame of the list (`encodeFrame` ties meta to type only for literal types). */
const encode = (f: Frame) => encodeFrame(f.id, f.type, f.meta as never, f.body);
const STREAM = concat(...FRAMES.map((f) => encode(f)));

Deno.test("a frame survives encoding: id, type, meta and binary body", () => {
  for (const f of FRAMES) {
    assert.deepEqual(new FrameReader().push(encode(f)), [f]);
  }
  const bare = new FrameReader().push(encodeFrame(3, FRAME.READY, null));
  assert.deepEqual(bare, [{ id: 3, type: FRAME.READY, meta: null, body: new Uint8Array() }]);
});

Deno.test("frames merged into one chunk come out one by one, in order", () => {
  assert.deepEqual(new FrameReader().push(STREAM), FRAMES);
});

Deno.test("frames split at every byte boundary are reassembled", () => {
  // Two cuts anywhere in the first two frames (every header and meta byte),
  // then the rest in one piece.
  const small = encode({ ...FRAMES[0], body: new Uint8Array() }).byteLength +
    encode(FRAMES[1]).byteLength;
  for (let a = 0; a <= small; a++) {
    for (let b = a; b <= small; b += 3) {
      const reader = new FrameReader();
      const got = [
        ...reader.push(STREAM.subarray(0, a)),
        ...reader.push(STREAM.subarray(a, b)),
        ...reader.push(STREAM.subarray(b)),
      ];
      assert.deepEqual(got, FRAMES, `cut at ${a} and ${b}`);
    }
  }
});

Deno.test("a byte at a time, and chunks of odd sizes, give the same frames", () => {
  for (const size of [1, 2, 5, 13, 64, 4096, 65_537]) {
    const reader = new FrameReader();
    const got: RawFrame[] = [];
    for (let i = 0; i < STREAM.byteLength; i += size) {
      got.push(...reader.push(STREAM.subarray(i, i + size)));
    }
    assert.deepEqual(got, FRAMES, `chunks of ${size}`);
  }
});

Deno.test("bodies are copies: later chunks do not overwrite frames already read", () => {
  const reader = new FrameReader();
  const [first] = reader.push(
    encodeFrame(1, FRAME.RESPONSE, { status: 200, headers: [] }, te.encode("first")),
  );
  reader.push(encodeFrame(2, FRAME.RESPONSE, { status: 200, headers: [] }, te.encode("SECOND")));
  assert.equal(new TextDecoder().decode(first.body), "first");
});

Deno.test("malformed frames are refused, not misread", () => {
  const header = (length: number, metaLength: number) => {
    const out = new Uint8Array(13);
    const view = new DataView(out.buffer);
    view.setUint32(0, length);
    view.setUint32(4, 1);
    out[8] = FRAME.LOG;
    view.setUint32(9, metaLength);
    return out;
  };
  // Shorter than a header.
  assert.throws(() => new FrameReader().push(header(8, 0)), /malformed frame/);
  // Longer than the reader allows: refused as soon as the length is read.
  assert.throws(() => new FrameReader(1024).push(header(1025, 0)), /malformed frame/);
  assert.deepEqual(new FrameReader(1024).push(header(1024, 0)), [], "at the limit: waits");
  // Meta longer than the frame.
  const lying = concat(header(9 + 4, 5), te.encode("null"));
  assert.throws(() => new FrameReader().push(lying), /malformed frame/);
  // Meta that is not JSON.
  const notJson = concat(header(9 + 3, 3), te.encode("{x}"));
  assert.throws(() => new FrameReader().push(notJson), SyntaxError);
});

/** A stream that records each write, and a way to wait for the next one. */
function recorder(fail = false) {
  const writes: Uint8Array[] = [];
  let waiting = Promise.withResolvers<void>();
  const sink = new WritableStream<Uint8Array>({
    write(chunk) {
      writes.push(chunk);
      waiting.resolve();
      if (fail) throw new Error("broken pipe");
    },
  });
  return {
    writes,
    writer: sink.getWriter(),
    next() {
      const p = waiting.promise;
      return deadline(p, "the next write").then(() => void (waiting = Promise.withResolvers()));
    },
  };
}

Deno.test("FrameWriter writes the frames of one task in one write", async () => {
  const r = recorder();
  const writer = new FrameWriter(r.writer, (e) => {
    throw e;
  });
  for (const f of FRAMES) writer.send(encode(f));
  assert.equal(r.writes.length, 0, "nothing before the task ends");
  await r.next();
  assert.deepEqual(r.writes, [STREAM], "all four frames in one write");
  writer.send(encodeFrame(9, FRAME.READY, null));
  await r.next();
  assert.equal(r.writes.length, 2);
  assert.deepEqual(new FrameReader().push(r.writes[1]).map((f) => f.id), [9]);
  writer.close();
  writer.send(encodeFrame(10, FRAME.READY, null));
  await deadline(r.writer.closed, "the stream to close");
  assert.equal(r.writes.length, 2, "nothing after close");
});

Deno.test("FrameWriter reports a failed write once and then drops frames", async () => {
  const r = recorder(true);
  const reported = Promise.withResolvers<unknown>();
  const errors: unknown[] = [];
  const writer = new FrameWriter(r.writer, (e) => {
    errors.push(e);
    reported.resolve(e);
  });
  writer.send(encodeFrame(1, FRAME.READY, null));
  const err = await deadline(reported.promise, "the write error");
  assert.equal((err as Error).message, "broken pipe");
  writer.send(encodeFrame(2, FRAME.READY, null));
  writer.send(encodeFrame(3, FRAME.READY, null));
  // A flush is a microtask; one macrotask later every microtask has run.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(r.writes.length, 1, "nothing written after the failure");
  assert.equal(errors.length, 1, "reported once");
});
