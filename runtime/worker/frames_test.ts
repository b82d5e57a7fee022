import assert from "node:assert/strict";
import { concatBytes } from "../../lib/bytes.ts";
import { deadline, waitFor } from "../../tests/deadline.ts";
import { FRAME, type FrameType, FrameWriter, MalformedFrame, readFrames } from "./frames.ts";

const te = new TextEncoder();

interface Decoded {
  id: number;
  type: number;
  meta: string;
  body?: number[];
}

const FRAMES: Decoded[] = [
  { id: 1, type: FRAME.REQUEST, meta: "GET\nhttp://a.localhost/\n0\naccept\n*/*" },
  { id: 2, type: FRAME.RESPONSE, meta: "200", body: [...te.encode("hello")] },
  { id: 0xffffffff, type: FRAME.LOG, meta: "[]", body: [0, 255, 13, 10] },
  {
    id: 7,
    type: FRAME.CALL,
    meta: JSON.stringify({ op: "kv.set", args: ["k", { é: "ü" }] }),
    body: new Array(70_000).fill(3),
  },
];

// The codec's tests write any meta under any type (`as FrameType` widens
// `MetaText` to text): the JSON metas' types are `frame_meta_test.ts`'s.

/** Everything a writer hands its sink. */
function recorder(fail = false) {
  const writes: Uint8Array[] = [];
  let waiting = Promise.withResolvers<void>();
  return {
    writes,
    sink: {
      write(data: Uint8Array): Promise<number> {
        writes.push(data.slice());
        waiting.resolve();
        if (fail) return Promise.reject(new Error("broken pipe"));
        return Promise.resolve(data.byteLength);
      },
    },
    next() {
      const p = waiting.promise;
      return deadline(p, "the next write").then(() => void (waiting = Promise.withResolvers()));
    },
  };
}

async function encode(frames: Decoded[]): Promise<Uint8Array> {
  const r = recorder();
  const w = new FrameWriter(r.sink, (e) => {
    throw e;
  });
  for (const f of frames) {
    w.frame(f.id, f.type as FrameType, f.meta, f.body && new Uint8Array(f.body));
  }
  await r.next();
  return concatBytes(r.writes);
}

/** Decodes `chunks` as a connection would deliver them. */
async function decode(
  chunks: Uint8Array[],
  max: (type: number) => number = () => 1 << 24,
): Promise<Decoded[]> {
  const out: Decoded[] = [];
  let i = 0;
  await readFrames(
    (into) => {
      const c = chunks[i++];
      if (!c) return Promise.resolve(null);
      into.set(c);
      return Promise.resolve(c.byteLength);
    },
    (id, type, meta, body) =>
      out.push(body ? { id, type, meta, body: [...body] } : { id, type, meta }),
    max,
  );
  return out;
}

const split = (bytes: Uint8Array, size: number) => {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.byteLength; i += size) out.push(bytes.subarray(i, i + size));
  return out;
};

Deno.test("frames survive encoding: id, type, text meta and binary body", async () => {
  const stream = await encode(FRAMES);
  assert.deepEqual(await decode([stream]), FRAMES);
});

Deno.test("frames split anywhere, a byte at a time or in odd chunks, are reassembled", async () => {
  const stream = await encode(FRAMES);
  for (const size of [1, 2, 5, 13, 64, 4096, 65_537]) {
    assert.deepEqual(await decode(split(stream, size)), FRAMES, `chunks of ${size}`);
  }
  const small = (await encode(FRAMES.slice(0, 2))).byteLength;
  for (let a = 0; a <= small; a += 2) {
    const got = await decode([stream.subarray(0, a), stream.subarray(a)]);
    assert.deepEqual(got, FRAMES, `cut at ${a}`);
  }
});

Deno.test("text bodies are written as UTF-8 into the frame", async () => {
  const r = recorder();
  const w = new FrameWriter(r.sink, () => {});
  w.frame(3, FRAME.RESPONSE, "200\ncontent-type\ntext/plain", "héllo ✓");
  await r.next();
  const [f] = await decode(r.writes);
  assert.equal(new TextDecoder().decode(new Uint8Array(f.body!)), "héllo ✓");
});

Deno.test("malformed frames are refused, not misread", async () => {
  const header = (length: number, metaLength: number, type: number = FRAME.LOG) => {
    const out = new Uint8Array(13);
    const view = new DataView(out.buffer);
    view.setUint32(0, length);
    view.setUint32(4, 1);
    out[8] = type;
    view.setUint32(9, metaLength);
    return out;
  };
  const refused = (chunks: Uint8Array[], max?: (t: number) => number) =>
    assert.rejects(() => decode(chunks, max), MalformedFrame);
  // Shorter than a header.
  await refused([header(8, 0)]);
  // Larger than its type allows: refused from the header, before the bytes come.
  await refused([header(2000, 0, FRAME.DATA)], (t) => (t === FRAME.DATA ? 1024 : 1 << 20));
  assert.deepEqual(
    await decode([concatBytes([header(9 + 2, 2), te.encode("[]")])], () => 11),
    [{ id: 1, type: FRAME.LOG, meta: "[]" }],
    "at the limit: read",
  );
  // Meta longer than the frame.
  await refused([concatBytes([header(9 + 4, 5), te.encode("null")])]);
  // The connection ends inside a frame.
  await refused([header(100, 0)]);
});

Deno.test("the writer sends the frames of one task in one write, then the next", async () => {
  const r = recorder();
  const w = new FrameWriter(r.sink, (e) => {
    throw e;
  });
  for (const f of FRAMES) {
    w.frame(f.id, f.type as FrameType, f.meta, f.body && new Uint8Array(f.body));
  }
  assert.equal(r.writes.length, 0, "nothing before the task ends");
  await r.next();
  assert.equal(r.writes.length, 1, "all four frames in one write");
  assert.deepEqual(await decode(r.writes), FRAMES);
  w.frame(9, FRAME.READY, "");
  await r.next();
  assert.deepEqual((await decode([r.writes[1]])).map((f) => f.id), [9]);
  w.close();
  w.frame(10, FRAME.READY, "");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(r.writes.length, 2, "nothing after close");
});

Deno.test("scheduled with setImmediate, the frames of every task of a turn share one write", async () => {
  const turn = async (schedule?: (run: () => void) => void) => {
    const r = recorder();
    const w = new FrameWriter(
      r.sink,
      (e) => {
        throw e;
      },
      undefined,
      schedule,
    );
    // Three tasks that each frame after their own awaits, as requests and
    // storage results do; then a timer's task in a later turn.
    await Promise.all([1, 2, 3].map(async (id) => {
      for (let k = 0; k < id; k++) await Promise.resolve();
      w.frame(id, FRAME.READY, "");
    }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    w.frame(4, FRAME.READY, "");
    await waitFor(async () => (await decode(r.writes)).length === 4, "four frames written");
    return Promise.all(r.writes.map(async (bytes) => (await decode([bytes])).map((f) => f.id)));
  };
  assert.deepEqual(await turn(setImmediate), [[1, 2, 3], [4]]);
  // The default, a microtask, writes after the first task's frame already.
  assert.deepEqual((await turn())[0], [1]);
});

Deno.test("the writer reports a failed write once and then drops frames", async () => {
  const r = recorder(true);
  const reported = Promise.withResolvers<unknown>();
  const errors: unknown[] = [];
  const w = new FrameWriter(r.sink, (e) => {
    errors.push(e);
    reported.resolve(e);
  });
  w.frame(1, FRAME.READY, "");
  const err = await deadline(reported.promise, "the write error");
  assert.equal((err as Error).message, "broken pipe");
  w.frame(2, FRAME.READY, "");
  w.frame(3, FRAME.READY, "");
  // A flush is a microtask; one macrotask later every microtask has run.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(r.writes.length, 1, "nothing written after the failure");
  assert.equal(errors.length, 1, "reported once");
});

Deno.test("a peer that stops reading cannot make the writer hold unbounded memory", async () => {
  const stuck = { write: () => new Promise<number>(() => {}) };
  const errors: unknown[] = [];
  const w = new FrameWriter(stuck, (e) => errors.push(e), 1024 * 1024);
  const chunk = new Uint8Array(64 * 1024);
  w.frame(1, FRAME.DATA, "", chunk);
  await new Promise((resolve) => setTimeout(resolve, 0));
  for (let i = 0; i < 40; i++) w.frame(1, FRAME.DATA, "", chunk);
  assert.equal(errors.length, 1, "refused once past the bound");
  assert.equal(w.closed, true);
  assert.equal(w.buffered, 0, "what was queued is dropped");
});
