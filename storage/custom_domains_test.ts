import assert from "node:assert/strict";
import { Storage } from "./mod.ts";
import { refused } from "./testing.ts";

function withApps(names: string[]): { storage: Storage; ids: Record<string, number> } {
  const storage = Storage.open(":memory:");
  const ids: Record<string, number> = {};
  for (const name of names) {
    const data = new TextEncoder().encode(name);
    ids[name] = storage.apps.createVersion(
      name,
      [{ path: "index.html", hash: name.padEnd(64, "0"), data }],
      { keep: 10 },
    ).app.id;
  }
  return { storage, ids };
}

Deno.test("custom domains: one app each, listed by name, gone with the app", () => {
  const { storage, ids } = withApps(["shop", "blog"]);
  try {
    const d = storage.domains;
    assert.equal(d.add(ids.shop, "shop.example.com", 10), true);
    assert.equal(d.add(ids.shop, "www.shop.example.com", 10), true);
    assert.equal(d.add(ids.blog, "blog.example.org", 10), true);
    assert.equal(d.add(ids.shop, "shop.example.com", 10), false, "adding again changes nothing");
    assert.deepEqual(d.list().map((x) => [x.name, x.app]), [
      ["blog.example.org", "blog"],
      ["shop.example.com", "shop"],
      ["www.shop.example.com", "shop"],
    ]);
    assert.deepEqual(d.forApp(ids.blog).map((x) => x.name), ["blog.example.org"]);
    assert.equal(d.get("shop.example.com")?.app, "shop");
    refused(() => d.add(ids.blog, "shop.example.com", 10), "CONFLICT", "name");
    assert.equal(d.get("shop.example.com")?.app, "shop", "a refused add moves nothing");
    assert.equal(d.remove(ids.blog, "shop.example.com"), false, "another app's domain stays");
    assert.equal(d.remove(ids.shop, "www.shop.example.com"), true);
    assert.equal(d.remove(ids.shop, "www.shop.example.com"), false);
    storage.apps.delete("shop");
    assert.deepEqual(d.list().map((x) => x.name), ["blog.example.org"]);
  } finally {
    storage.close();
  }
});

Deno.test("custom domains: the node's limit is enforced", () => {
  const { storage, ids } = withApps(["a"]);
  try {
    storage.domains.add(ids.a, "one.example", 2);
    storage.domains.add(ids.a, "two.example", 2);
    refused(() => storage.domains.add(ids.a, "three.example", 2), "LIMIT_EXCEEDED", "name");
    assert.equal(storage.domains.count(), 2);
    assert.equal(storage.domains.add(ids.a, "two.example", 2), false, "a known one at the limit");
  } finally {
    storage.close();
  }
});
