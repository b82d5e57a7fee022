/**
 * A node run from a bundle (`deno task bundle`'s dist/fazt.js, the program
 * in a release archive) compiles apps' server code: esbuild's JavaScript API
 * is inside the bundle, its executable beside it. Without one the deploy is
 * refused with 503 COMPILER_UNAVAILABLE, not an internal error. (Archives
 * carry the executable: tests/release_test.ts deploys server code to one.)
 */
import assert from "node:assert/strict";
import { SERVER_RUN_FLAGS } from "../lib/program.ts";
import { releaseTargetOf } from "../lib/release_target.ts";
import { buildBundle } from "../release/build.ts";
import { esbuildExecutable } from "../release/esbuild_executable.ts";
import { Storage } from "../storage/mod.ts";
import { waitFor } from "./deadline.ts";
import { makeZip } from "./helpers.ts";
import { hostFetch } from "./http_client.ts";

class BundleNode {
  #proc?: Deno.ChildProcess;
  port = 0;
  token = "";

  constructor(readonly program: string, readonly work: string) {}

  get log(): string {
    return `${this.work}/node.log`;
  }

  async start(): Promise<void> {
    const db = `${this.work}/node.db`;
    const setup = Storage.open(db);
    this.token = setup.tokens.create("test", "admin").token;
    setup.close();
    await Deno.writeTextFile(this.log, "");
    const script = `exec "$0" run ${SERVER_RUN_FLAGS.join(" ")} --no-config "$1" server start ` +
      `--port 0 --host 127.0.0.1 --db "$2" >> "$3" 2>&1`;
    this.#proc = new Deno.Command("sh", {
      args: ["-c", script, Deno.execPath(), this.program, db, this.log],
      // A Deno cache without esbuild: the executable can only come from beside the bundle.
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: `${this.work}/home`,
        DENO_DIR: `${this.work}/deno-cache`,
        DENO_NO_UPDATE_CHECK: "1",
      },
      clearEnv: true,
      stdin: "null",
    }).spawn();
    const listening = await waitFor(
      async () =>
        /listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(await Deno.readTextFile(this.log)),
      "the bundled node to listen",
      30_000,
    );
    this.port = Number(listening[1]);
  }

  deploy(name: string, zip: Uint8Array<ArrayBuffer>): Promise<Response> {
    return fetch(`http://127.0.0.1:${this.port}/api/deploy?name=${name}`, {
      method: "POST",
      body: zip,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/zip" },
    });
  }

  get(app: string, path: string): Promise<Response> {
    return hostFetch(`http://127.0.0.1:${this.port}${path}`, { host: `${app}.localhost` });
  }

  async stop(): Promise<void> {
    if (!this.#proc) return;
    try {
      this.#proc.kill("SIGTERM");
    } catch {
      // gone
    }
    await this.#proc.status;
    this.#proc = undefined;
  }
}

const APP = {
  "api/main.ts": 'import { twice } from "./twice.ts";\n' +
    "export default (): Response => new Response(`twice: ${twice(21)}`);",
  "api/twice.ts": "export const twice = (n: number): number => n * 2;",
};

Deno.test("a bundled node compiles server code with the esbuild beside it, and refuses cleanly without one", async () => {
  const target = releaseTargetOf();
  assert.ok(target, "fazt is released for this machine");
  const work = await Deno.makeTempDir({ prefix: "fazt-bundle-compile-" });
  await Deno.mkdir(`${work}/bin`);
  await Deno.mkdir(`${work}/home`);
  await Deno.mkdir(`${work}/deno-cache`);
  await buildBundle(`${work}/bin/fazt.js`);
  const node = new BundleNode(`${work}/bin/fazt.js`, work);
  try {
    await node.start();
    const refused = await node.deploy("code", await makeZip(APP));
    assert.equal(refused.status, 503);
    const body = await refused.json();
    assert.equal(body.error.code, "COMPILER_UNAVAILABLE");
    assert.doesNotMatch(JSON.stringify(body), new RegExp(work), "no paths in the answer");
    assert.equal((await node.get("code", "/api/")).status, 404, "nothing was deployed");
    const site = await node.deploy("site", await makeZip({ "index.html": "<p>static</p>" }));
    assert.equal(site.status, 201, "sites without server code still deploy");
    await node.stop();

    const { file, bytes } = await esbuildExecutable(target);
    await Deno.writeFile(`${work}/bin/${file}`, bytes, { mode: 0o755 });
    await node.start();
    const deployed = await node.deploy("code", await makeZip(APP));
    assert.equal(deployed.status, 201, await deployed.text());
    assert.equal(await (await node.get("code", "/api/")).text(), "twice: 42");
    assert.doesNotMatch(await Deno.readTextFile(node.log), /__filename/);
  } finally {
    await node.stop();
    await Deno.remove(work, { recursive: true });
  }
});
