import assert from "node:assert/strict";
import { boundaryOf, MultipartError, type PartInfo, readMultipart } from "./multipart.ts";

const te = new TextEncoder();

/** The parts of `body`, fed in pieces of `step` bytes: info and content. */
async function parse(body: Uint8Array, boundary: string, step = body.length) {
  const parts: (PartInfo & { content: number[] })[] = [];
  async function* pieces() {
    for (let i = 0; i < body.length; i += step) yield body.slice(i, i + step);
  }
  await readMultipart(pieces(), boundary, (info) => {
    const part = { ...info, content: [] as number[] };
    parts.push(part);
    return (chunk) => {
      part.content.push(...chunk);
    };
  });
  return parts.map((p) => ({ ...p, bytes: new Uint8Array(p.content) })).map((
    { content: _, ...p },
  ) => ({
    ...p,
    content: new TextDecoder().decode(p.bytes),
  }));
}

Deno.test("readMultipart reads what FormData sends, however the body is cut", async () => {
  const form = new FormData();
  form.set("site_name", "shop");
  const file = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
  // Bytes that look like the start of a boundary must pass through.
  file.set(te.encode("\r\n--"), 100);
  form.set("file", new File([file], "site.zip"));
  form.set("after", "last");
  const req = new Request("http://x/", { method: "POST", body: form });
  const boundary = boundaryOf(req.headers.get("content-type")!)!;
  const body = new Uint8Array(await req.arrayBuffer());
  for (const step of [1, 2, 7, 64, 1000, body.length]) {
    const parts = await parse(body, boundary, step);
    assert.deepEqual(parts.map((p) => [p.name, p.filename]), [
      ["site_name", undefined],
      ["file", "site.zip"],
      ["after", undefined],
    ], `step ${step}`);
    assert.equal(parts[0].content, "shop");
    assert.deepEqual(parts[1].bytes, file, `step ${step}: the file's bytes exactly`);
    assert.equal(parts[2].content, "last");
  }
});

Deno.test("boundaryOf reads quoted and bare boundaries", () => {
  assert.equal(boundaryOf("multipart/form-data; boundary=abc"), "abc");
  assert.equal(boundaryOf('multipart/form-data; charset=x; boundary="a b:c"'), "a b:c");
  assert.equal(boundaryOf("multipart/form-data; BOUNDARY=Mixed"), "Mixed");
  assert.equal(boundaryOf("multipart/form-data"), undefined);
});

Deno.test("readMultipart refuses malformed bodies", async () => {
  const cases: [string, string][] = [
    ["no closing boundary", "--b\r\ncontent-disposition: form-data; name=a\r\n\r\nx"],
    ["no boundary at all", "just text"],
    ["no disposition", "--b\r\ncontent-type: text/plain\r\n\r\nx\r\n--b--"],
    ["no name", "--b\r\ncontent-disposition: form-data\r\n\r\nx\r\n--b--"],
    ["bad delimiter line", "--b\r\ncontent-disposition: form-data; name=a\r\n\r\nx\r\n--bXY"],
    ["endless headers", "--b\r\n" + "x-pad: y\r\n".repeat(3000)],
  ];
  for (const [label, body] of cases) {
    const err = await parse(te.encode(body), "b").then(() => undefined, (e) => e);
    assert.ok(err instanceof MultipartError, `${label}: ${err}`);
  }
  const ok = await parse(
    te.encode(
      'preamble\r\n--b\r\ncontent-disposition: form-data; name="q\\"x"; filename="f.zip"\r\n\r\n' +
        "data\r\n--b--\r\nepilogue",
    ),
    "b",
  );
  assert.deepEqual(ok.map(({ bytes: _, ...p }) => p), [
    { name: 'q"x', filename: "f.zip", content: "data" },
  ]);
});
