import assert from "node:assert/strict";
import { AREAS, type Mutant } from "./mutant_list.ts";
import { applyMutant, locate } from "./mutants.ts";

const FILES: Record<string, string> = {
  "server/a.ts": "const x = 1;\nif (a === b) return;\n",
  "server/b.ts": "if (c < d) go();\nif (c < d) stop();\n",
  "server/moved.ts": "one();\nreturn ok && fine;\n",
};
const read = (path: string) => FILES[path];
const sources = Object.keys(FILES);
const mutant = (file: string, find: string, replace = "X"): Mutant => ({
  id: "t",
  file,
  find,
  replace,
});

Deno.test("a mutant is found by its text, in its file or where the text moved", () => {
  assert.deepEqual(locate(mutant("server/a.ts", "a === b"), read, sources), {
    kind: "found",
    file: "server/a.ts",
    index: 17,
    line: 2,
    moved: false,
  });
  // The file was renamed: the text is looked for in the other sources.
  const moved = locate(mutant("server/gone.ts", "return ok && fine;"), read, sources);
  assert.deepEqual(moved, {
    kind: "found",
    file: "server/moved.ts",
    index: 7,
    line: 2,
    moved: true,
  });
});

Deno.test("a mutant whose text is gone, repeated or unchanged is stale, not applied", () => {
  const stale = (m: Mutant) => {
    const l = locate(m, read, sources);
    assert.equal(l.kind, "stale", JSON.stringify(m));
    return (l as { reason: string }).reason;
  };
  assert.match(stale(mutant("server/a.ts", "a !== b")), /not found/);
  assert.match(stale(mutant("server/gone.ts", "nowhere")), /gone/);
  assert.match(stale(mutant("server/b.ts", "c < d")), /found 2 times/);
  assert.match(stale(mutant("server/a.ts", "if (", "if (")), /replace equals find/);
  // Found once in each of two other files: ambiguous, so stale.
  const twice = { "x.ts": "dup();", "y.ts": "dup();" };
  const l = locate(mutant("z.ts", "dup();"), (p) => (twice as Record<string, string>)[p], [
    "x.ts",
    "y.ts",
  ]);
  assert.equal(l.kind, "stale");
});

Deno.test("applying a mutant replaces that one occurrence and checks it is there", () => {
  const text = FILES["server/a.ts"];
  const m = mutant("server/a.ts", "a === b", "a !== b");
  assert.equal(applyMutant(text, m, 17), "const x = 1;\nif (a !== b) return;\n");
  assert.throws(() => applyMutant(text, m, 3), /not at 3/);
});

Deno.test("the mutant list: unique ids, real changes, test files named", () => {
  const ids = AREAS.flatMap((a) => a.mutants.map((m) => m.id));
  assert.equal(new Set(ids).size, ids.length, "ids are unique");
  for (const area of AREAS) {
    assert.ok(area.tests.length > 0 && area.mutants.length > 0, area.name);
    for (const m of area.mutants) assert.notEqual(m.find, m.replace, m.id);
  }
});
