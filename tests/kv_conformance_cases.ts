/**
 * The Deno KV conformance cases: each works through a KV and returns what
 * it saw, as JSON. `tests/kv_conformance_test.ts` runs them against fazt's
 * `Deno.openKv()` and, in a subprocess with `--unstable-kv`, against Deno's
 * own, and asserts both saw the same. Run as a script, it runs them against
 * Deno's own KV in memory and prints the result.
 * @module
 */

// The part of Deno.Kv the cases use; both Deno's and fazt's have it.
// deno-lint-ignore no-explicit-any
export type AnyKv = any;
export type U64Class = new (v: bigint) => { value: bigint };
/** The classes `Deno` gives beside `openKv`: Deno's own, or fazt's (`runtime/worker/deno_kv.ts`). */
export interface KvClasses {
  KvU64: U64Class;
  // deno-lint-ignore no-explicit-any
  Kv: new (...args: any[]) => unknown;
  // deno-lint-ignore no-explicit-any
  AtomicOperation: new (...args: any[]) => unknown;
  // deno-lint-ignore no-explicit-any
  KvListIterator: new (...args: any[]) => unknown;
}

/** Waits until `check` holds, looking again after each `ms`; throws after `limitMs`. */
async function until(check: () => Promise<boolean>, what: string, limitMs = 30_000) {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function show(part: unknown): string {
  if (part instanceof Uint8Array) return `bytes:${[...part].join(",")}`;
  if (typeof part === "bigint") return `bigint:${part}`;
  if (typeof part === "number") return `number:${Object.is(part, -0) ? "-0" : part}`;
  return `${typeof part}:${String(part)}`;
}

const showKey = (key: unknown[]) => key.map(show).join("|");

async function keysOf(iter: AsyncIterable<{ key: unknown[] }>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of iter) out.push(showKey(e.key));
  return out;
}

export async function ordering(kv: AnyKv) {
  const parts: unknown[] = [
    "b",
    "a",
    "",
    "a\0b",
    "é",
    1,
    -1,
    2.5,
    -2.5,
    0,
    Infinity,
    -Infinity,
    1n,
    -1n,
    0n,
    255n,
    256n,
    -255n,
    -256n,
    2n ** 70n,
    -(2n ** 70n),
    true,
    false,
    new Uint8Array([]),
    new Uint8Array([0]),
    new Uint8Array([1, 2]),
    new Uint8Array([0, 255]),
  ];
  for (const p of parts) await kv.set(["ord", p], show(p));
  await kv.set(["ord"], "the prefix itself");
  await kv.set(["ord", "a", 1], "nested");
  const forward = await keysOf(kv.list({ prefix: ["ord"] }));
  const backward = await keysOf(kv.list({ prefix: ["ord"] }, { reverse: true }));
  return { forward, backward };
}

export async function values(kv: AnyKv, U64: U64Class) {
  const original = {
    n: 1,
    big: 12345678901234567890n,
    d: new Date(0),
    m: new Map([["k", [1, 2]]]),
    s: new Set(["x"]),
    u: new Uint8Array([1, 2, 3]),
    nested: { deep: [null, undefined, "x"] },
    re: /a+b/g,
  };
  await kv.set(["v", "obj"], original);
  await kv.set(["v", "bytes"], new Uint8Array([9, 8]));
  await kv.set(["v", "u64"], new U64(7n));
  await kv.set(["v", "undef"], undefined);
  const [obj, bytes, u64, undef, missing] = await kv.getMany([
    ["v", "obj"],
    ["v", "bytes"],
    ["v", "u64"],
    ["v", "undef"],
    ["v", "missing"],
  ]);
  const o = obj.value;
  let fnError = "";
  try {
    await kv.set(["v", "fn"], { f: () => 1 });
  } catch (err) {
    fnError = (err as Error).name;
  }
  return {
    obj: {
      n: o.n,
      big: String(o.big),
      d: o.d instanceof Date && o.d.getTime(),
      m: o.m instanceof Map && [...o.m],
      s: o.s instanceof Set && [...o.s],
      u: o.u instanceof Uint8Array && [...o.u],
      nested: o.nested.deep.length === 3 && o.nested.deep[1] === undefined,
      re: o.re instanceof RegExp && o.re.source + o.re.flags,
    },
    bytes: bytes.value instanceof Uint8Array && [...bytes.value],
    u64: u64.value instanceof U64 && String(u64.value.value),
    undef: "value" in undef && undef.value === undefined && undef.versionstamp !== null,
    missing: [missing.value, missing.versionstamp, showKey(missing.key)],
    versionstamp: /^[0-9a-f]{20}$/.test(obj.versionstamp),
    fnError: fnError !== "",
  };
}

export async function versionstamps(kv: AnyKv) {
  const a = await kv.set(["vs", "a"], 1);
  const b = await kv.set(["vs", "b"], 2);
  const both = await kv.atomic().set(["vs", "c"], 3).set(["vs", "d"], 4).commit();
  const [c, d] = await kv.getMany([["vs", "c"], ["vs", "d"]]);
  await kv.delete(["vs", "a"]);
  const gone = await kv.get(["vs", "a"]);
  return {
    ok: [a.ok, b.ok, both.ok],
    increasing: a.versionstamp < b.versionstamp && b.versionstamp < both.versionstamp,
    shared: c.versionstamp === both.versionstamp && d.versionstamp === both.versionstamp,
    deleted: gone.versionstamp === null,
  };
}

export async function racing(kv: AnyKv) {
  await kv.set(["race"], 0);
  const seen = await kv.get(["race"]);
  const results = await Promise.all(
    [1, 2].map((n) => kv.atomic().check(seen).set(["race"], n).commit()),
  );
  const after = await kv.get(["race"]);
  const winner = results.findIndex((r: { ok: boolean }) => r.ok) + 1;
  const absent = await kv.atomic().check({ key: ["nobody"], versionstamp: null })
    .set(["nobody"], "first").commit();
  const again = await kv.atomic().check({ key: ["nobody"], versionstamp: null })
    .set(["nobody"], "second").commit();
  const stale = await kv.atomic().check(seen).delete(["race"]).commit();
  return {
    wins: results.filter((r: { ok: boolean }) => r.ok).length,
    winnerWrote: after.value === winner,
    loser: results.find((r: { ok: boolean }) => !r.ok),
    absent: absent.ok,
    again,
    stale,
    still: (await kv.get(["race"])).value === winner,
  };
}

export async function u64(kv: AnyKv, U64: U64Class) {
  await kv.atomic().sum(["n"], 5n).commit();
  await kv.atomic().sum(["n"], 10n).commit();
  const sum = (await kv.get(["n"])).value.value;
  await kv.atomic().sum(["n"], 2n ** 64n - 1n).commit();
  const wrapped = (await kv.get(["n"])).value.value;
  await kv.atomic().min(["n"], 3n).commit();
  const min = (await kv.get(["n"])).value.value;
  await kv.atomic().max(["n"], 100n).commit();
  const max = (await kv.get(["n"])).value.value;
  await kv.atomic().mutate({ type: "sum", key: ["n"], value: new U64(1n) }).commit();
  const mutated = (await kv.get(["n"])).value.value;
  await kv.set(["text"], "not a number");
  let onText = "";
  try {
    await kv.atomic().sum(["text"], 1n).commit();
  } catch (err) {
    onText = (err as Error).name;
  }
  let tooBig = "";
  try {
    new U64(2n ** 64n);
  } catch (err) {
    tooBig = (err as Error).name;
  }
  return {
    sum: String(sum),
    wrapped: String(wrapped),
    min: String(min),
    max: String(max),
    mutated: String(mutated),
    onText,
    textKept: (await kv.get(["text"])).value,
    tooBig,
  };
}

export async function paging(kv: AnyKv) {
  for (let i = 0; i < 25; i++) await kv.set(["page", i], i);
  await kv.set(["pagex"], "outside");
  const pages: number[][] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 5; n++) {
    const iter: AnyKv = kv.list({ prefix: ["page"] }, { limit: 10, cursor });
    const page: number[] = [];
    for await (const e of iter) page.push(e.value);
    pages.push(page);
    if (page.length < 10) break;
    cursor = iter.cursor;
  }
  const back: number[][] = [];
  cursor = undefined;
  for (let n = 0; n < 5; n++) {
    const iter: AnyKv = kv.list({ prefix: ["page"] }, { limit: 10, cursor, reverse: true });
    const page: number[] = [];
    for await (const e of iter) page.push(e.value);
    back.push(page);
    if (page.length < 10) break;
    cursor = iter.cursor;
  }
  const range: number[] = [];
  for await (const e of kv.list({ start: ["page", 3], end: ["page", 7] })) range.push(e.value);
  const fromStart: number[] = [];
  for await (const e of kv.list({ prefix: ["page"], start: ["page", 20] })) {
    fromStart.push(e.value);
  }
  const toEnd: number[] = [];
  for await (const e of kv.list({ prefix: ["page"], end: ["page", 4] }, { batchSize: 2 })) {
    toEnd.push(e.value);
  }
  const eventual: number[] = [];
  for await (
    const e of kv.list({ prefix: ["page"] }, { limit: 3, consistency: "eventual" })
  ) eventual.push(e.value);
  return { pages, back, range, fromStart, toEnd, eventual };
}

export async function expiry(kv: AnyKv) {
  await kv.set(["exp", "short"], "soon gone", { expireIn: 100 });
  await kv.set(["exp", "long"], "stays", { expireIn: 3_600_000 });
  const before = (await kv.get(["exp", "short"])).value;
  // Deno's own KV removes expired keys once a minute.
  await until(
    async () => (await kv.get(["exp", "short"])).value === null,
    "the key to expire",
    120_000,
  );
  return {
    before,
    after: (await kv.get(["exp", "short"])).value,
    long: (await kv.get(["exp", "long"])).value,
    listed: await keysOf(kv.list({ prefix: ["exp"] })),
  };
}

export async function watching(kv: AnyKv) {
  const stream = kv.watch([["w", "a"], ["w", "b"]]);
  const reader = stream.getReader();
  const seen: unknown[] = [];
  const read = async () => {
    const { value } = await reader.read();
    seen.push(value.map((e: { value: unknown; versionstamp: string | null }) => [
      e.value,
      e.versionstamp !== null,
    ]));
  };
  await read();
  await kv.set(["w", "a"], "one");
  await read();
  await kv.set(["w", "unrelated"], "x");
  await kv.set(["w", "b"], "two");
  // Deno may coalesce changes; wait until the latest is seen.
  while (JSON.stringify(seen.at(-1)) !== JSON.stringify([["one", true], ["two", true]])) {
    await read();
  }
  await kv.delete(["w", "a"]);
  while (JSON.stringify(seen.at(-1)) !== JSON.stringify([[null, false], ["two", true]])) {
    await read();
  }
  await reader.cancel();
  return { first: seen[0], second: seen[1], last: seen.at(-1) };
}

export async function queues(kv: AnyKv) {
  const counts: Record<string, number> = {};
  const delivered: string[] = [];
  const listening = kv.listenQueue((msg: { name: string; n?: bigint }) => {
    counts[msg.name] = (counts[msg.name] ?? 0) + 1;
    if (msg.name === "retry" && counts.retry < 3) throw new Error("not yet");
    if (msg.name === "fail") throw new Error("never");
    delivered.push(msg.name);
  });
  await kv.enqueue({ name: "plain", n: 1n });
  await kv.enqueue({ name: "retry" }, { backoffSchedule: [10, 10, 10, 10] });
  await kv.enqueue({ name: "fail" }, { backoffSchedule: [10, 10], keysIfUndelivered: [["dead"]] });
  await kv.enqueue({ name: "delayed" }, { delay: 200 });
  await kv.atomic().set(["withMessage"], 1).enqueue({ name: "atomic" }).commit();
  await until(
    async () =>
      ["plain", "retry", "delayed", "atomic"].every((n) => delivered.includes(n)) &&
      (await kv.get(["dead"])).value !== null,
    "every message",
  );
  const dead = (await kv.get(["dead"])).value;
  kv.close();
  await listening;
  return {
    delivered: [...delivered].sort(),
    retries: counts.retry,
    failAttempts: counts.fail,
    dead,
  };
}

/** What app code checks of the objects: their classes, and a list's cursor before and after. */
export async function surface(kv: AnyKv, classes: KvClasses) {
  let constructed: string;
  try {
    new classes.Kv();
    constructed = "none";
  } catch (err) {
    constructed = `${(err as Error).name}: ${(err as Error).message}`;
  }
  const cursorOf = (iter: AnyKv) => {
    try {
      return iter.cursor;
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`;
    }
  };
  for (let i = 0; i < 3; i++) await kv.set(["s", i], i);
  const fresh = kv.list({ prefix: ["s"] });
  const before = cursorOf(fresh);
  const pending = fresh.next();
  const whileFirstPending = cursorOf(fresh);
  await pending;
  const afterFirst = cursorOf(fresh);
  const given = kv.list({ prefix: ["s"] }, { cursor: afterFirst });
  const givenBefore = cursorOf(given);
  const atLimit = kv.list({ prefix: ["s"] }, { limit: 3 });
  for await (const _ of atLimit) { /* to its limit */ }
  const third = kv.list({ prefix: ["s"] });
  for (let i = 0; i < 3; i++) await third.next();
  const toEnd = kv.list({ prefix: ["s"] });
  for await (const _ of toEnd) { /* to the end of the range */ }
  const empty = kv.list({ prefix: ["nothing"] });
  for await (const _ of empty) { /* none */ }
  return {
    instances: [
      kv instanceof classes.Kv,
      kv.atomic() instanceof classes.AtomicOperation,
      fresh instanceof classes.KvListIterator,
      new classes.KvU64(1n) instanceof classes.KvU64,
    ],
    constructed,
    before,
    whileFirstPending,
    afterFirstIsText: typeof afterFirst === "string" && afterFirst.length > 0,
    givenBefore: givenBefore === afterFirst,
    atLimitIsLast: cursorOf(atLimit) === cursorOf(third),
    toEnd: cursorOf(toEnd),
    empty: cursorOf(empty),
  };
}

export async function refusals(kv: AnyKv) {
  const errors: Record<string, string> = {};
  const attempt = async (name: string, fn: () => unknown) => {
    try {
      await fn();
      errors[name] = "none";
    } catch (err) {
      errors[name] = (err as Error).name;
    }
  };
  await attempt("badPart", () => kv.set(["x", {} as unknown as string], 1));
  await attempt("bigValue", () => kv.set(["big"], new Uint8Array(65537)));
  await attempt("bigKey", () => kv.set(["k", "x".repeat(3000)], 1));
  await attempt("getManyTooMany", () => kv.getMany(Array.from({ length: 11 }, (_, i) => [i])));
  await attempt("noSelector", () => kv.list({ start: ["a"] }).next());
  return errors;
}

export const CASE_NAMES = [
  "ordering",
  "values",
  "versionstamps",
  "racing",
  "u64",
  "paging",
  "expiry",
  "watching",
  "refusals",
  "surface",
  "queues",
];

/** Every case (or those named), each on its own fresh KV from `open`. */
export async function runAll(
  open: () => Promise<AnyKv>,
  classes: KvClasses,
  only: string[] = [],
) {
  const U64 = classes.KvU64;
  const out: Record<string, unknown> = {};
  const cases: [string, (kv: AnyKv) => Promise<unknown>][] = [
    ["ordering", ordering],
    ["values", (kv) => values(kv, U64)],
    ["versionstamps", versionstamps],
    ["racing", racing],
    ["u64", (kv) => u64(kv, U64)],
    ["paging", paging],
    ["expiry", expiry],
    ["watching", watching],
    ["refusals", refusals],
    ["surface", (kv) => surface(kv, classes)],
    ["queues", queues],
  ];
  for (const [name, run] of cases) {
    if (only.length && !only.includes(name)) continue;
    const kv = await open();
    try {
      out[name] = await run(kv);
    } finally {
      try {
        kv.close();
      } catch {
        // The queue case closes its own.
      }
    }
  }
  return out;
}

if (import.meta.main) {
  const D = Deno as unknown as KvClasses & { openKv(path?: string): Promise<AnyKv> };
  const result = await runAll(() => D.openKv(":memory:"), D, Deno.args);
  console.log(JSON.stringify(result));
}
