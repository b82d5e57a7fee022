/**
 * `POST /api/system/restart` against a real `fazt server start` process: the
 * node stops, starts again on the same program and port, and then runs with
 * the settings saved before; `/api/settings` and `fazt server config` agree
 * on what is stored and on what a flag overrides for this run.
 */
import assert from "node:assert/strict";
import { assertOk, CliSandbox } from "./cli_runner.ts";
import { waitFor } from "./deadline.ts";
import { startTestNode } from "./helpers.ts";

interface SettingRow {
  key: string;
  value: string | number;
  stored_value: string | number;
  from_flag: boolean;
  pending: boolean;
}

Deno.test("restart: a saved setting pending until the restart applies after it, same port", async () => {
  const sb = await CliSandbox.create();
  try {
    const token = assertOk(await sb.cli(["token", "create", "--name", "t", "--scope", "admin"]))
      .stdout.trim();
    const server = await sb.start({ firstRun: true });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(server.base + path, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    const setting = async (key: string) =>
      ((await call("GET", "/api/settings")).body.data as SettingRow[]).find((s) => s.key === key)!;

    const saved = await call("PUT", "/api/settings", { max_versions: 7 });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    const before = await setting("max_versions");
    assert.equal(before.value, 10);
    assert.equal(before.stored_value, 7);
    assert.equal(before.pending, true);
    const pidBefore = (await call("GET", "/api/system")).body.data.pid;

    // The page and `fazt server config` show the same stored values, and the
    // page says which ones a flag overrides for this run (--port 0 here).
    assert.equal(assertOk(await sb.cli(["server", "config", "max_versions"])).stdout.trim(), "7");
    const port = await setting("port");
    assert.equal(
      assertOk(await sb.cli(["server", "config", "port"])).stdout.trim(),
      String(port.stored_value),
    );
    assert.equal(port.from_flag, true);
    assert.equal(port.value, 0);
    assert.equal(port.pending, false);

    const res = await call("POST", "/api/system/restart");
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.data, { action: "restarting" });

    // The new process answers on the same port, with the saved value in use.
    const after = await waitFor(async () => {
      try {
        const system = await call("GET", "/api/system");
        if (system.body.data.pid === pidBefore) return undefined;
        return await setting("max_versions");
      } catch {
        return undefined; // between the two processes
      }
    }, "the restarted node");
    assert.equal(after.value, 7);
    assert.equal(after.pending, false);
    assert.equal((await setting("port")).from_flag, true, "the command line is the same");
    assert.equal(server.status, undefined, "the started process stays, as the supervisor");
    assert.match(server.err, /restart: starting fazt/);
  } finally {
    // SIGTERM, which the supervisor forwards: SIGKILL would leave its child running.
    for (const s of sb.servers) await s.stop();
    await sb.remove();
  }
});

Deno.test("restart: a node embedded in another program refuses with RESTART_UNAVAILABLE", async () => {
  const node = await startTestNode();
  try {
    const res = await node.fetch("/api/system/restart", { method: "POST" });
    assert.equal(res.status, 409);
    assert.equal((await res.json()).error.code, "RESTART_UNAVAILABLE");
    const health = await node.fetch("/health", { token: null });
    assert.equal(health.status, 200, "still running");
    await health.body?.cancel();
  } finally {
    await node.close();
  }
});
