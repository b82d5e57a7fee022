import assert from "node:assert/strict";
import { lazyExport, once } from "./lazy.ts";

/** A load that waits until `finish` is called, counting its calls. */
function gatedLoad<T>(value: T) {
  const calls = { n: 0 };
  const gate = Promise.withResolvers<void>();
  const load = async () => {
    calls.n++;
    await gate.promise;
    return value;
  };
  return { calls, load, finish: gate.resolve };
}

Deno.test("once: callers racing a load share it; later callers get the same value", async () => {
  const { calls, load, finish } = gatedLoad({ answer: 42 });
  const loader = once(load);
  const first = loader();
  const second = loader();
  finish();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(calls.n, 1);
  assert.equal(a, b);
  assert.equal(await loader(), a);
  assert.equal(calls.n, 1);
});

Deno.test("once: a load that fails is tried again by the next caller", async () => {
  let calls = 0;
  const loader = once(() => {
    calls++;
    return calls === 1 ? Promise.reject(new Error("not yet")) : Promise.resolve("loaded");
  });
  await assert.rejects(loader(), /not yet/);
  assert.equal(await loader(), "loaded");
  assert.equal(calls, 2);
});

Deno.test("lazyExport: two racing calls load the module once and each gets its own answer", async () => {
  const mod = { double: (n: number) => n * 2, later: (s: string) => Promise.resolve(`${s}!`) };
  const { calls, load, finish } = gatedLoad(mod);
  const loader = once(load);
  const double = lazyExport(loader, "double");
  const later = lazyExport(loader, "later");
  assert.equal(calls.n, 0, "nothing is loaded before the first call");
  const racing = [double(2), double(5), later("hi")] as const;
  assert.equal(calls.n, 1, "the three calls started one load");
  finish();
  assert.deepEqual(await Promise.all(racing), [4, 10, "hi!"]);
  assert.equal(calls.n, 1);
});

Deno.test("lazyExport: what the export throws, even synchronously, rejects its promise", async () => {
  const boom = lazyExport(() =>
    Promise.resolve({
      f: (): number => {
        throw new RangeError("no");
      },
    }), "f");
  await assert.rejects(boom(), RangeError);
});

Deno.test("lazyExport: a real module imported on first call", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/m.ts`;
    await Deno.writeTextFile(file, "export const greet = (name: string) => `hello ${name}`;\n");
    let imports = 0;
    const loader = once(() => {
      imports++;
      return import(`file://${file}`) as Promise<{ greet: (name: string) => string }>;
    });
    const greet = lazyExport(loader, "greet");
    assert.deepEqual(await Promise.all([greet("a"), greet("b")]), ["hello a", "hello b"]);
    assert.equal(imports, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
