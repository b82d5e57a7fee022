import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import { makeZip, startTestNode } from "./helpers.ts";

function siteOf(version: number): Record<string, string> {
  const files: Record<string, string> = { "index.html": `<p>v${version}</p>`.repeat(500) };
  for (let i = 0; i < 30; i++) files[`page${i}.html`] = `v${version};`.repeat(200 + i);
  return files;
}

/** The version a body belongs to, or throws if it mixes versions or is partial. */
function versionOf(path: string, body: string): number {
  const tags = new Set(body.match(/v\d+/g));
  assert.equal(tags.size, 1, `${path} mixes versions: ${[...tags].join(",")}`);
  const v = Number([...tags][0].slice(1));
  const expected = siteOf(v)[path.slice(1) || "index.html"];
  assert.equal(body, expected, `${path} is a complete file of v${v}`);
  return v;
}

Deno.test("reads during deploys see one whole version, and never go back", async () => {
  const node = await startTestNode();
  try {
    await node.deploy("site", await makeZip(siteOf(1)));
    const zips = await Promise.all([2, 3, 4, 5, 6, 7, 8].map((v) => makeZip(siteOf(v))));
    let deploying = true;
    const readers = Array.from({ length: 4 }, async (_, r) => {
      let last = 1;
      let reads = 0;
      while (deploying || reads < 20) {
        const path = reads % 3 === 0 ? "/" : `/page${(reads * 7 + r) % 30}.html`;
        const res = await node.fetch(path, { host: "site.localhost", token: null });
        assert.equal(res.status, 200, path);
        const v = versionOf(path, await res.text());
        assert.ok(v >= last, `went back from v${last} to v${v}`);
        last = v;
        reads++;
      }
      return reads;
    });
    for (const zip of zips) {
      const { status } = await node.deploy("site", zip);
      assert.equal(status, 201);
    }
    deploying = false;
    const counts = await Promise.all(readers);
    assert.ok(counts.every((n) => n >= 20));
    const final = await node.fetch("/", { host: "site.localhost", token: null });
    assert.equal(versionOf("/", await final.text()), 8);
  } finally {
    await node.close();
  }
});

Deno.test("a restart keeps everything: the database is the only state", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-restart-" });
  try {
    let node = await startTestNode({ dir, settings: { max_versions: 4 } });
    await node.deploy("site", await makeZip({ "index.html": "first" }));
    await node.deploy("site", await makeZip({ "index.html": "second", "a/b.css": "b{}" }));
    await (await node.fetch("/api/apps/site/rollback", { method: "POST" })).body?.cancel();
    const tokens = node.tokens;
    await node.close();

    node = await startTestNode({ dir });
    const res = await node.fetch("/", { host: "site.localhost", token: null });
    assert.equal(await res.text(), "first", "the rolled-back version is still live");
    const info = await node.fetch("/api/apps/site", { token: tokens.admin });
    assert.equal(info.status, 200, "tokens from before the restart still work");
    const data = (await info.json()).data;
    assert.equal(data.live_version, 1);
    assert.equal(data.versions.length, 2);
    assert.equal(node.server.context.settings.max_versions, 4, "settings survive");
    await node.close();
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
      !n.startsWith("data.db") && n !== "tmp"
    );
    assert.deepEqual(files, [], "nothing but the database file is written");
    // Uploads are spooled in tmp/ beside the database and gone once deployed.
    assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], [], "no upload is left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the database file and its WAL are readable by the owner only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-mode-" });
  try {
    const storage = Storage.open(`${dir}/sub/data.db`);
    storage.settings.set("domain", "example.test");
    for (const name of ["data.db", "data.db-wal", "data.db-shm"]) {
      const mode = Deno.statSync(`${dir}/sub/${name}`).mode! & 0o777;
      assert.equal(mode, 0o600, name);
    }
    storage.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
