/**
 * File names with bidi controls (a right-to-left override can make
 * `invoice<U+202E>gpj.exe` read as `invoiceexe.jpg`): the dashboard shows
 * them escaped (admin/src/visible_name.ts); the API keeps the raw name.
 */
import assert from "node:assert/strict";
import { deployFiles, withTestNode } from "./helpers.ts";

Deno.test("the API answers file names with bidi controls raw", async () => {
  await withTestNode(async (node) => {
    const names = ["invoice\u202Egpj.exe", "a\u2066b\u2069.txt", "mark\u200F.html"];
    await deployFiles(node, "site", Object.fromEntries(names.map((n) => [n, n])));
    const res = await node.fetch("/api/apps/site/files");
    assert.equal(res.status, 200);
    const paths = (await res.json()).data.files.map((f: { path: string }) => f.path);
    assert.deepEqual(paths.sort(), [...names].sort());
    for (const name of names) {
      const file = await node.fetch(`/api/apps/site/files/${encodeURIComponent(name)}`);
      assert.equal(file.status, 200, JSON.stringify(name));
      assert.equal((await file.json()).data.path, name);
    }
  });
});
