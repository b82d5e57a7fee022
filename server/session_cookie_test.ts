import assert from "node:assert/strict";
import {
  clearedSessionCookies,
  HOST_SESSION_COOKIE,
  readSessionCookies,
  SESSION_COOKIE,
  sessionCookie,
} from "./session_cookie.ts";

const withCookie = (cookie: string) => new Request("http://localhost/", { headers: { cookie } });

Deno.test("every session cookie value is read: __Host- ones first, each in the order sent", () => {
  assert.deepEqual(readSessionCookies(new Request("http://localhost/")), []);
  assert.deepEqual(
    readSessionCookies(
      withCookie(
        `fazt_session=tossed; theme=dark; __Host-fazt_session=h1; fazt_session=real; ` +
          `__Host-fazt_session=h2; xfazt_session=no; FAZT_SESSION=no; fazt_session_old=no`,
      ),
    ),
    ["h1", "h2", "tossed", "real"],
  );
  assert.deepEqual(readSessionCookies(withCookie(" fazt_session = v ;=x;novalue")), ["v"]);
});

Deno.test("at most 32 session cookie values are tried, __Host- ones always among them", () => {
  const many = Array.from({ length: 40 }, (_, i) => `fazt_session=t${i}`).join("; ");
  const read = readSessionCookies(withCookie(`${many}; __Host-fazt_session=real`));
  assert.equal(read.length, 32);
  assert.equal(read[0], "real");
  assert.equal(read[31], "t30");
});

Deno.test("the session cookie is __Host- and Secure under HTTPS, plain over HTTP", () => {
  const https = sessionCookie("s", 60, true);
  assert.equal(
    https,
    `${HOST_SESSION_COOKIE}=s; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure`,
  );
  assert.doesNotMatch(https, /domain=/i, "a __Host- cookie may have no Domain");
  assert.equal(
    sessionCookie("s", 60, false),
    `${SESSION_COOKIE}=s; Path=/; Max-Age=60; HttpOnly; SameSite=Strict`,
  );
  assert.deepEqual(clearedSessionCookies(false), [
    "fazt_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict",
  ]);
  assert.deepEqual(clearedSessionCookies(true), [
    "__Host-fazt_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure",
    "fazt_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure",
  ]);
});
