import assert from "node:assert/strict";
import { parseReplicaUrl, ReplicaUrlError, replicaUrlProblem } from "./replica_url.ts";

Deno.test("file, sftp and s3 replica URLs give Litestream's parts", () => {
  assert.deepEqual(parseReplicaUrl("file:///var/backups/fazt/"), {
    type: "file",
    path: "/var/backups/fazt",
  });
  assert.deepEqual(parseReplicaUrl("sftp://fazt@backup.example.com:2022/srv/fazt"), {
    type: "sftp",
    host: "backup.example.com:2022",
    user: "fazt",
    path: "/srv/fazt",
  });
  assert.deepEqual(parseReplicaUrl("sftp://fazt@10.0.0.2/fazt").type, "sftp");
  assert.equal((parseReplicaUrl("sftp://u@h/p") as { host: string }).host, "h:22");
  assert.deepEqual(
    parseReplicaUrl(
      "s3://my-bucket/nodes/one?endpoint=http://127.0.0.1:9000&region=us-east-1&force-path-style=true",
    ),
    {
      type: "s3",
      bucket: "my-bucket",
      path: "nodes/one",
      endpoint: "http://127.0.0.1:9000",
      region: "us-east-1",
      forcePathStyle: true,
    },
  );
  assert.deepEqual(parseReplicaUrl("s3://b"), { type: "s3", bucket: "b", path: "" });
});

Deno.test("every malformed replica URL is refused with a reason", () => {
  const refused: [string, RegExp][] = [
    ["not a url", /must not contain spaces/],
    ["nothing", /must be file:/],
    ["sftp://u@h/a/%2e%2e/b", /must not contain '\.\.'/],
    ["http://example.com/x", /not http:/],
    ["file://host/x", /on this machine/],
    ["file:///", /absolute folder/],
    ["file:///a/../b", /must not contain '\.\.'/],
    ["file:///a?x=1", /no user or \?parameters/],
    ["sftp://host/path", /needs a user/],
    ["sftp://u:secret@host/path", /must not carry a password/],
    ["sftp://u@host", /needs a folder/],
    ["sftp://u@host/p?x=1", /no \?parameters/],
    ["s3://bucket:9000/p", /bucket as the host/],
    ["s3://bucket/p?nope=1", /not 'nope'/],
    ["s3://bucket/p?endpoint=ftp://x", /http:\/\/ or https:\/\//],
    ["s3://bucket/p?region=US%20East", /region/],
    ["s3://bucket/p?force-path-style=yes", /true or false/],
    ["s3://bucket/a/../b", /must not contain '\.\.'/],
    ["file:///x#frag", /fragment/],
  ];
  for (const [url, why] of refused) {
    assert.throws(() => parseReplicaUrl(url), (err: unknown) => {
      assert.ok(err instanceof ReplicaUrlError, url);
      assert.match(err.message, why, url);
      return true;
    });
    assert.match(replicaUrlProblem(url)!, why);
  }
  assert.equal(replicaUrlProblem("file:///ok"), undefined);
});
