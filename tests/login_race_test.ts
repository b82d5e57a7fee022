/**
 * Concurrent sign-ins: each attempt is counted before its password is
 * checked, so a burst of guesses cannot all pass the limit while the first
 * ones are still being hashed. Real HTTP to a real node, all in flight at once.
 */
import assert from "node:assert/strict";
import { startTestNode, type TestNode } from "./helpers.ts";
import { adminOrigin, login, OWNER, setOwner } from "./admin_helpers.ts";
import { deadline } from "./deadline.ts";
import { hashPassword } from "../lib/password.ts";

const ALLOWED = 5;
const BURST = 40;

/** A sign-in over a raw connection whose body is held back until `send()`. */
interface HeldLogin {
  /** Resolves with the status once the node answers (before or after `send()`). */
  status: Promise<number>;
  readonly answered: boolean;
  send(): Promise<void>;
  close(): void;
}

async function heldLogin(node: TestNode, password: string): Promise<HeldLogin> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: node.server.port });
  const body = JSON.stringify({ username: OWNER.username, password });
  const enc = new TextEncoder();
  const head = [
    "POST /api/auth/login HTTP/1.1",
    `Host: localhost:${node.server.port}`,
    `Origin: ${adminOrigin(node)}`,
    "Content-Type: application/json",
    `Content-Length: ${enc.encode(body).byteLength}`,
    "Connection: close",
    "",
    "",
  ].join("\r\n");
  await conn.write(enc.encode(head));
  let answered = false;
  const status = (async () => {
    const buf = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await conn.read(buf);
      if (n === null) throw new Error(`connection closed before a status line: ${text}`);
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    answered = true;
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  })();
  const held: HeldLogin = {
    status,
    get answered() {
      return answered;
    },
    async send() {
      await conn.write(enc.encode(body));
    },
    close() {
      try {
        conn.close();
      } catch {
        // Already closed by the node.
      }
    },
  };
  return held;
}

Deno.test(`${BURST} concurrent sign-ins with the right password: ${ALLOWED} are checked, the rest get 429`, async () => {
  const node = await startTestNode();
  let held: HeldLogin[] = [];
  try {
    await setOwner(node);
    // Every request is in flight before any password is checked: their bodies are held back.
    held = await Promise.all(Array.from({ length: BURST }, () => heldLogin(node, OWNER.password)));
    const refused = held.length - ALLOWED;
    // The node answers the ones over the limit without waiting for their bodies.
    const early = await deadline(
      new Promise<number[]>((resolve, reject) => {
        const seen: number[] = [];
        for (const h of held) {
          h.status.then((s) => {
            seen.push(s);
            if (seen.length === refused) resolve(seen);
          }, reject);
        }
      }),
      `${refused} early answers`,
    );
    assert.deepEqual(early, Array(refused).fill(429), "refused even with the right password");
    const admitted = held.filter((h) => !h.answered);
    assert.equal(admitted.length, ALLOWED, "exactly the allowed number wait for a password check");
    await Promise.all(admitted.map((h) => h.send()));
    const statuses = await deadline(Promise.all(admitted.map((h) => h.status)), "admitted answers");
    assert.deepEqual(statuses, Array(ALLOWED).fill(200));
    assert.equal(node.count("sessions"), ALLOWED, "only the admitted ones got a session");
  } finally {
    for (const h of held) h.close();
    await node.close();
  }
});

Deno.test(`${BURST} concurrent wrong guesses: ${ALLOWED} are checked, then even the right password waits`, async () => {
  const node = await startTestNode();
  try {
    // The real hash's cost, so the guesses overlap as they would on a live node.
    node.storage.owner.set(OWNER.username, await hashPassword(OWNER.password));
    const answers = await Promise.all(
      Array.from({ length: BURST }, (_, i) => login(node, { password: `guess ${i}` })),
    );
    const statuses = answers.map((a) => a.res.status).sort();
    assert.deepEqual(statuses, [
      ...Array(ALLOWED).fill(401),
      ...Array(BURST - ALLOWED).fill(429),
    ]);
    for (const a of answers.filter((a) => a.res.status === 429)) {
      assert.equal(a.body.error.code, "RATE_LIMITED");
      assert.ok(Number(a.res.headers.get("retry-after")) > 0);
    }
    const right = await login(node);
    assert.equal(right.res.status, 429);
    assert.equal(right.setCookie, null);
    assert.equal(node.count("sessions"), 0);
  } finally {
    await node.close();
  }
});

Deno.test("a malformed sign-in is not counted as an attempt", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    for (let i = 0; i < ALLOWED + 3; i++) {
      const empty = await login(node, { password: "" });
      assert.equal(empty.res.status, 400);
      const junk = await node.fetch("/api/auth/login", {
        method: "POST",
        token: null,
        headers: { "content-type": "application/json", origin: adminOrigin(node) },
        body: "{not json",
      });
      assert.equal(junk.status, 400);
      await junk.body?.cancel();
    }
    const { res } = await login(node);
    assert.equal(res.status, 200, "no password was tried, so none counted");
  } finally {
    await node.close();
  }
});
