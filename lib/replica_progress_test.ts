import assert from "node:assert/strict";
import {
  atOrPast,
  formatPosition,
  parseLitestreamLine,
  parsePosition,
  ReplicaProgress,
} from "./replica_progress.ts";

const GEN = "784dd68e825b8a4d";
const SHADOW = `/tmp/x/.d.db-litestream/generations/${GEN}/wal/00000000.wal`;

/** A line as Litestream 0.3.13 writes it (`logging: {type: json}`), at second `s` past noon. */
function line(s: number, level: string, msg: string, fields: Record<string, unknown> = {}): string {
  const time = new Date(Date.UTC(2026, 10, 29, 12, 0, 0) + s * 1000).toISOString()
    .replace("Z", "123456Z");
  return JSON.stringify({ time, level, msg, db: "/tmp/x/d.db", ...fields });
}

const at = (s: number) => Date.UTC(2026, 10, 29, 12, 0, 0) + s * 1000;

function feed(p: ReplicaProgress, ...lines: string[]): void {
  for (const l of lines) {
    const parsed = parseLitestreamLine(l);
    if (parsed) p.feed(parsed);
  }
}

/** One shadow copy (the db loop) ending at `offset`, starting at second `s`. */
function shadow(s: number, offset: number): string[] {
  return [
    line(s, "DEBUG", "sync", { info: {} }),
    line(s + 0.001, "DEBUG", "copy-shadow", { filename: SHADOW }),
    line(s + 0.002, "DEBUG", "copy-shadow: ok", { filename: SHADOW, offset: offset - 4120 }),
    line(s + 0.003, "DEBUG", "copy-shadow: break", { filename: SHADOW, offset, error: "EOF" }),
    line(s + 0.004, "DEBUG", "sync: ok"),
  ];
}

/** One replica sync at second `s` shipping `from` to `to`. */
function ship(s: number, from: number, to: number): string[] {
  return [
    line(s, "DEBUG", "replica sync", { replica: "file", position: `${GEN}/00000000:${to}` }),
    line(s + 0.001, "INFO", "write wal segment", { position: `${GEN}/00000000:${from}` }),
    line(s + 0.002, "INFO", "wal segment written", {
      replica: "file",
      position: `${GEN}/00000000:${from}`,
      elapsed: "1ms",
      sz: to - from,
    }),
  ];
}

Deno.test("positions parse, print and compare as Litestream writes them", () => {
  const p = parsePosition(`${GEN}/0000001a:4152`)!;
  assert.deepEqual(p, { generation: GEN, index: 26, offset: 4152 });
  assert.equal(formatPosition(p), `${GEN}/0000001a:4152`);
  assert.equal(parsePosition("nonsense"), undefined);
  assert.equal(parsePosition(42), undefined);
  assert.ok(atOrPast(p, { ...p, offset: 10 }));
  assert.ok(atOrPast({ ...p, index: 27, offset: 0 }, p));
  assert.ok(!atOrPast({ ...p, offset: 10 }, p));
  assert.ok(!atOrPast({ ...p, generation: "ff" }, p), "another generation is never past");
});

Deno.test("the per-commit chatter is skipped; other lines are parsed with their time", () => {
  assert.equal(
    parseLitestreamLine(line(0, "DEBUG", "copy-shadow", { filename: SHADOW })),
    undefined,
  );
  assert.equal(parseLitestreamLine(line(0, "DEBUG", "copy-shadow: ok", { offset: 1 })), undefined);
  assert.equal(parseLitestreamLine("not json"), undefined);
  assert.equal(parseLitestreamLine("{broken"), undefined);
  const parsed = parseLitestreamLine(line(1.5, "INFO", "snapshot written", { sz: 406 }))!;
  assert.equal(parsed.time, at(1.5));
  assert.equal(parsed.msg, "snapshot written");
  assert.equal(parsed.fields.sz, 406);
});

Deno.test("a write is replicated once the replica reaches a copy made after it", () => {
  const p = new ReplicaProgress();
  p.noteWrite(at(0.5));
  assert.equal(p.lagMs(at(1)), 500);
  feed(p, ...shadow(1, 20632));
  // Copied locally, not yet on the replica.
  assert.equal(p.lagMs(at(1.05)), 550);
  feed(p, ...ship(1.1, 16512, 20632));
  assert.equal(p.replicatedThrough, at(1));
  assert.equal(p.lagMs(at(2)), 0);
  assert.equal(p.syncedAt, at(1.102));
  assert.equal(formatPosition(p.replicaPosition!), `${GEN}/00000000:20632`);
  assert.equal(formatPosition(p.localPosition!), `${GEN}/00000000:20632`);
});

Deno.test("a write made during a copy counts only once a later copy is on the replica", () => {
  const p = new ReplicaProgress();
  feed(p, ...shadow(1, 20632), ...ship(1.1, 16512, 20632));
  // Written after the copy at 1 s began: that copy may or may not hold it.
  p.noteWrite(at(1.0005));
  feed(p, ...shadow(2, 20632));
  // The next copy found nothing new, and the replica has all of it: safe.
  assert.equal(p.replicatedThrough, at(2));
  assert.equal(p.lagMs(at(2.5)), 0);
});

Deno.test("lag grows while the replica cannot be written, and the error is kept", () => {
  const p = new ReplicaProgress();
  feed(p, ...shadow(1, 20632), ...ship(1.1, 16512, 20632));
  p.noteWrite(at(1.5));
  feed(
    p,
    ...shadow(2, 24752),
    line(2.1, "DEBUG", "replica sync", { position: `${GEN}/00000000:24752` }),
    line(2.2, "ERROR", "monitor error", {
      replica: "sftp",
      error: "dial tcp 127.0.0.1:9: connect: connection refused",
    }),
    ...shadow(3, 24752),
  );
  assert.equal(p.replicatedThrough, at(1));
  assert.equal(p.lagMs(at(4)), 2500);
  assert.match(p.lastError!.message, /^monitor error: dial tcp .*connection refused$/);
  assert.equal(p.replicaPosition, null, "a failed sync forgets the replica's position");
  // The replica is back: Litestream works out its position and ships the rest.
  feed(
    p,
    line(4, "DEBUG", "replica sync", { position: `${GEN}/00000000:24752` }),
    line(4.01, "DEBUG", "replica sync: calc new pos", { position: `${GEN}/00000000:20632` }),
    ...ship(4.02, 20632, 24752).slice(1),
  );
  assert.equal(p.replicatedThrough, at(3));
  assert.equal(p.lagMs(at(5)), 0);
});

Deno.test("after a restart nothing is known until Litestream says where things are", () => {
  const p = new ReplicaProgress();
  feed(p, ...shadow(1, 20632), ...ship(1.1, 16512, 20632));
  p.restarted();
  assert.equal(p.replicaPosition, null);
  assert.equal(p.localPosition, null);
  assert.equal(p.replicatedThrough, at(1), "what was replicated stays replicated");
  p.noteWrite(at(5));
  // A copy with no replica position known: nothing moves.
  feed(p, ...shadow(6, 24752));
  assert.equal(p.lagMs(at(7)), 2000);
});
