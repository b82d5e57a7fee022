import assert from "node:assert/strict";
import { litestreamConfig, litestreamDurationMs } from "./litestream_config.ts";
import { parseReplicaUrl } from "./replica_url.ts";

const timing = { syncInterval: "1s", retention: "24h" };

Deno.test("the config names the database and its one replica, with JSON logging on stdout", () => {
  const text = litestreamConfig("/data/fazt.db", parseReplicaUrl("file:///rep"), {}, timing);
  const config = JSON.parse(text);
  assert.deepEqual(config.logging, { type: "json", level: "debug", stderr: false });
  assert.deepEqual(config.dbs, [{
    path: "/data/fazt.db",
    replicas: [{ type: "file", path: "/rep", "sync-interval": "1s", retention: "24h" }],
  }]);
});

Deno.test("credentials go into the replica's fields, exactly as given", () => {
  const secret = 'p"a\\ss: word # not yaml';
  const sftp = JSON.parse(litestreamConfig(
    "/d.db",
    parseReplicaUrl("sftp://fazt@127.0.0.1:2022/srv"),
    { secret, keyPath: "/home/u/.ssh/id" },
    timing,
  )).dbs[0].replicas[0];
  assert.equal(sftp.host, "127.0.0.1:2022");
  assert.equal(sftp.user, "fazt");
  assert.equal(sftp.password, secret);
  assert.equal(sftp["key-path"], "/home/u/.ssh/id");
  const s3 = JSON.parse(litestreamConfig(
    "/d.db",
    parseReplicaUrl("s3://b/p?endpoint=http://127.0.0.1:9&region=us-east-1&force-path-style=true"),
    { accessKeyId: "AKID", secret: "SK" },
    timing,
  )).dbs[0].replicas[0];
  assert.deepEqual(s3, {
    type: "s3",
    "sync-interval": "1s",
    retention: "24h",
    bucket: "b",
    path: "p",
    endpoint: "http://127.0.0.1:9",
    region: "us-east-1",
    "force-path-style": true,
    "access-key-id": "AKID",
    "secret-access-key": "SK",
  });
  const none = JSON.parse(litestreamConfig("/d.db", parseReplicaUrl("s3://b/p"), {}, timing));
  assert.ok(!("secret-access-key" in none.dbs[0].replicas[0]));
});

Deno.test("Litestream durations", () => {
  assert.equal(litestreamDurationMs("500ms"), 500);
  assert.equal(litestreamDurationMs("1s"), 1000);
  assert.equal(litestreamDurationMs("24h"), 86_400_000);
  assert.equal(litestreamDurationMs("1d"), undefined);
  assert.equal(litestreamDurationMs("1.5s"), undefined);
});
