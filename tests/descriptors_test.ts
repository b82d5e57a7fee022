/**
 * Running out of file descriptors sheds connections, never the process:
 * a node (and a door capped above its limit) under `prlimit --nofile=256`,
 * flooded with idle connections, keeps answering and recovers.
 */
import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import { DENO_DIR, ROOT, ServerProcess, startFlags } from "./cli_runner.ts";
import { deadline, waitFor } from "./deadline.ts";
import { rawConnect, rawGet, type RawSocket } from "./raw_socket.ts";

const LIMIT = 256;
const FLOOD = 400;

/** `prlimit`'s arguments for `deno run ARGS` under the descriptor limit. */
function limited(...args: string[]): string[] {
  return [`--nofile=${LIMIT}:${LIMIT}`, Deno.execPath(), "run", ...args];
}

/** `count` idle connections from several loopback addresses; those that could connect. */
async function flood(port: number, count: number): Promise<RawSocket[]> {
  const socks: RawSocket[] = [];
  for (let i = 0; i < count; i++) {
    const s = await rawConnect(port, `127.0.3.${1 + (i % 50)}`).catch(() => undefined);
    if (s) socks.push(s);
  }
  return socks;
}

/** A normal request gets its answer (retried while the door makes room). */
function served(port: number, host: string): Promise<number> {
  return waitFor(
    async () => (await rawGet(port, "/health", host).catch(() => 0)) === 200 && 200,
    "a normal request to be answered during the flood",
  );
}

Deno.test("a node at its descriptor limit sheds idle connections and stays up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-fd-" });
  const db = `${dir}/data.db`;
  const setup = Storage.open(db);
  setup.settings.set("max_connections_per_ip", 100_000);
  setup.close();
  const server = new ServerProcess(
    new Deno.Command("prlimit", {
      args: limited(
        ...startFlags(),
        "main.ts",
        "server",
        "start",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--db",
        db,
      ),
      cwd: ROOT,
      env: { HOME: dir, DENO_DIR, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  let socks: RawSocket[] = [];
  try {
    await server.ready();
    // The cap was lowered to fit under the limit.
    assert.match(server.err, /max_connections 4096 lowered to 192/);
    socks = await flood(server.port, FLOOD);
    assert.equal(await served(server.port, "localhost"), 200);
    assert.equal(server.status, undefined, "the node is still running");
    // The idle ones beyond the cap were closed.
    await deadline(Promise.race(socks.map((s) => s.closed)), "idle connections to be shed");
    for (const s of socks) s.destroy();
    assert.equal(await served(server.port, "localhost"), 200);
    assert.doesNotMatch(server.err, /Uncaught|panicked/);
  } finally {
    for (const s of socks) s.destroy();
    await server.kill();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("accept() failing with EMFILE backs off and goes on accepting", async () => {
  const proc = new Deno.Command("prlimit", {
    args: limited(
      "--allow-net",
      "--no-prompt",
      new URL("./door_process.ts", import.meta.url).pathname,
      "1000",
    ),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(proc.stderr).text();
  let exited = false;
  proc.status.then(() => exited = true);
  let socks: RawSocket[] = [];
  try {
    const first = await deadline(lines.read(), "the door to listen");
    const port = Number(/listening (\d+)/.exec(first.value ?? "")?.[1]);
    assert.ok(port > 0, `no port in '${first.value}'`);
    socks = await flood(port, FLOOD);
    const stats = await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${port}/stats`).catch(() => undefined);
      return r?.ok && await r.json();
    }, "the door to answer during the flood");
    assert.ok(
      stats.descriptorErrors > 0,
      `accept() ran out of descriptors: ${JSON.stringify(stats)}`,
    );
    assert.ok(stats.evictedIdle > 0);
    for (const s of socks) s.destroy();
    const after = await waitFor(
      () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.text()).catch(() => undefined),
      "the door to answer after the flood",
    );
    assert.equal(after, "ok");
  } finally {
    for (const s of socks) s.destroy();
    const died = exited;
    if (!died) proc.kill("SIGKILL");
    await proc.status;
    await lines.cancel();
    const err = await stderr;
    assert.ok(!died, `the door process exited:\n${err}`);
    assert.doesNotMatch(err, /Uncaught|panicked/);
  }
});

Deno.test("out of descriptors, nothing starts a Worker (Deno would panic); it is done without one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-fd-" });
  try {
    const out = await new Deno.Command("prlimit", {
      args: limited(
        "-A",
        "--no-prompt",
        new URL("./descriptor_starved.ts", import.meta.url).pathname,
        dir,
      ),
      cwd: ROOT,
      env: { DENO_DIR, NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.doesNotMatch(err, /panicked/);
    assert.equal(out.code, 0, err);
    const [starved, free] = new TextDecoder().decode(out.stdout).trim().split("\n")
      .map((line) => JSON.parse(line));
    assert.deepEqual(starved.starved, {
      thread: false,
      stored: ["/starved"],
      compressed: "refused: out of file descriptors",
      checkpoints: "connection",
      snapshot: "refused: the snapshot failed: the node is out of file descriptors; try again",
    });
    assert.deepEqual(free.free, {
      thread: true,
      stored: ["/free", "/starved"],
      compressed: "br,gzip",
      checkpoints: "thread",
      snapshot: "taken",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
