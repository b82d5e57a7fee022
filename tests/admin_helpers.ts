/** Helpers for the dashboard's tests: an owner account and signing in. */
import { base64url } from "../lib/secrets.ts";
import type { TestNode } from "./helpers.ts";

export const OWNER = { username: "owner", password: "correct horse battery staple" };

/**
 * Stores the owner with a PBKDF2 hash of few iterations (the count is part of
 * the stored hash, so verification is the real code path, only faster).
 */
export async function setOwner(
  node: Pick<TestNode, "storage">,
  owner = OWNER,
): Promise<void> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(owner.password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations: 1000 },
    key,
    256,
  );
  node.storage.owner.set(
    owner.username,
    `pbkdf2-sha256$1000$${base64url(salt)}$${base64url(new Uint8Array(bits))}`,
  );
}

/** The admin host's origin as a browser sees it (`http://localhost:PORT`). */
export function adminOrigin(node: TestNode): string {
  return `http://localhost:${node.server.port}`;
}

/** `POST /api/auth/login`; returns the answer and the cookie pair (`fazt_session=…`) if set. */
export async function login(
  node: TestNode,
  opts: { username?: string; password?: string; headers?: Record<string, string> } = {},
): Promise<{
  res: Response;
  // deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
  body: any;
  setCookie: string | null;
  cookie?: string;
}> {
  const res = await node.fetch("/api/auth/login", {
    method: "POST",
    token: null,
    headers: { "content-type": "application/json", origin: adminOrigin(node), ...opts.headers },
    body: JSON.stringify({
      username: opts.username ?? OWNER.username,
      password: opts.password ?? OWNER.password,
    }),
  });
  const body = await res.json();
  const setCookie = res.headers.get("set-cookie");
  const cookie = setCookie?.split(";")[0];
  return { res, body, setCookie, cookie: cookie?.endsWith("=") ? undefined : cookie };
}
