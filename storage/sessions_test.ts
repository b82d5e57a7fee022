import assert from "node:assert/strict";
import { openDatabase } from "./open_database.ts";
import { LoginAttemptStore, SessionStore } from "./sessions.ts";

const HOUR = 3_600_000;
const life = { idleMs: 2 * HOUR, maxMs: 24 * HOUR };

function clocked() {
  const clock = { now: 1_700_000_000_000 };
  const db = openDatabase(":memory:");
  const now = () => clock.now;
  return {
    clock,
    db,
    sessions: new SessionStore(db, { now }),
    attempts: new LoginAttemptStore(db, { now }),
  };
}

Deno.test("a session slides with use and ends when idle", () => {
  const { clock, db, sessions } = clocked();
  const { secret, info } = sessions.create(life, "Firefox");
  assert.equal(info.expires_at, clock.now + 2 * HOUR);
  clock.now += 90 * 60_000;
  const seen = sessions.touch(secret, life)!;
  assert.equal(seen.expires_at, clock.now + 2 * HOUR, "use pushes the expiry back");
  clock.now += 119 * 60_000;
  assert.ok(sessions.touch(secret, life), "still alive just before the idle limit");
  clock.now += 2 * HOUR + 1;
  assert.equal(sessions.touch(secret, life), undefined, "idle too long");
  assert.equal(db.get<{ n: number }>("SELECT COUNT(*) AS n FROM sessions")!.n, 0, "removed");
});

Deno.test("a session never outlives its hard cap, however active", () => {
  const { clock, sessions } = clocked();
  const { secret } = sessions.create(life, null);
  const start = clock.now;
  for (let h = 1; h < 24; h++) {
    clock.now = start + h * HOUR;
    assert.ok(sessions.touch(secret, life), `hour ${h}`);
  }
  clock.now = start + 24 * HOUR;
  assert.equal(sessions.touch(secret, life), undefined);
});

Deno.test("only a hash of the cookie is stored; logout and revoke end sessions", () => {
  const { db, sessions } = clocked();
  const a = sessions.create(life, "A");
  const b = sessions.create(life, "B");
  const dump = JSON.stringify(db.all("SELECT * FROM sessions"));
  assert.ok(!dump.includes(a.secret) && !dump.includes(b.secret));
  assert.equal(sessions.touch("not-a-session", life), undefined);
  assert.equal(sessions.list().length, 2);
  assert.ok(sessions.delete(a.secret));
  assert.ok(!sessions.delete(a.secret), "a second logout ends nothing");
  assert.ok(!sessions.delete("not-a-session"));
  assert.equal(sessions.touch(a.secret, life), undefined);
  // Handles that are not one session's: nothing is revoked.
  for (const handle of ["", "0", b.info.id.slice(0, 8), b.info.id.toUpperCase(), "g".repeat(16)]) {
    assert.ok(!sessions.revoke(handle), JSON.stringify(handle));
  }
  assert.equal(sessions.list().length, 1);
  assert.ok(sessions.revoke(b.info.id));
  assert.ok(!sessions.revoke(b.info.id));
  assert.equal(sessions.list().length, 0);
});

Deno.test("login failures: 5 per address per window, then a wait; success resets", () => {
  const { clock, attempts } = clocked();
  const window = 15 * 60_000;
  for (let i = 1; i <= 4; i++) {
    assert.equal(attempts.fail("10.0.0.1", window), i);
    assert.equal(attempts.blockedFor("10.0.0.1", 5, window), 0);
  }
  attempts.fail("10.0.0.1", window);
  assert.equal(attempts.blockedFor("10.0.0.1", 5, window), window);
  assert.equal(attempts.blockedFor("10.0.0.2", 5, window), 0, "other addresses are not affected");
  clock.now += window - 1000;
  assert.equal(attempts.blockedFor("10.0.0.1", 5, window), 1000);
  clock.now += 1000;
  assert.equal(attempts.blockedFor("10.0.0.1", 5, window), 0, "the window ended");
  assert.equal(attempts.fail("10.0.0.1", window), 1, "a new window starts");
  attempts.reset("10.0.0.1");
  assert.equal(attempts.fail("10.0.0.1", window), 1);
});

Deno.test("login attempts are reserved before the check: max per window, then a wait", () => {
  const { clock, attempts } = clocked();
  const window = 15 * 60_000;
  for (let i = 1; i <= 5; i++) {
    assert.deepEqual(attempts.reserve("10.0.0.1", 5, window), { ok: true, attempts: i });
  }
  assert.deepEqual(attempts.reserve("10.0.0.1", 5, window), { ok: false, waitMs: window });
  assert.deepEqual(attempts.reserve("10.0.0.2", 5, window), { ok: true, attempts: 1 });
  clock.now += window - 1000;
  assert.deepEqual(attempts.reserve("10.0.0.1", 5, window), { ok: false, waitMs: 1000 });
  clock.now += 1000;
  assert.deepEqual(
    attempts.reserve("10.0.0.1", 5, window),
    { ok: true, attempts: 1 },
    "the window ended: a new one starts",
  );
  // An attempt given back (no password was tried) frees its place.
  for (let i = 2; i <= 5; i++) attempts.reserve("10.0.0.1", 5, window);
  attempts.release("10.0.0.1");
  assert.deepEqual(attempts.reserve("10.0.0.1", 5, window), { ok: true, attempts: 5 });
  assert.equal(attempts.reserve("10.0.0.1", 5, window).ok, false);
  attempts.reset("10.0.0.1");
  assert.deepEqual(attempts.reserve("10.0.0.1", 5, window), { ok: true, attempts: 1 });
  // Releasing never goes below zero.
  attempts.reset("10.0.0.3");
  attempts.release("10.0.0.3");
  attempts.release("10.0.0.4");
  assert.deepEqual(attempts.reserve("10.0.0.3", 5, window), { ok: true, attempts: 1 });
});

Deno.test("expired sessions are not listed, and are purged when a new one starts", () => {
  const { clock, db, sessions } = clocked();
  const rows = () => db.get<{ n: number }>("SELECT COUNT(*) AS n FROM sessions")!.n;
  sessions.create(life, "old");
  clock.now += 2 * HOUR; // exactly at the idle limit: over
  assert.deepEqual(sessions.list(), []);
  assert.equal(rows(), 1, "still stored until something purges it");
  const fresh = sessions.create(life, "new");
  assert.equal(rows(), 1, "the expired one was purged");
  assert.deepEqual(sessions.list().map((s) => s.user_agent), ["new"]);
  assert.equal(sessions.list()[0].id, fresh.info.id);
});

Deno.test("a session that ends exactly now has ended", () => {
  const { clock, sessions } = clocked();
  const { secret } = sessions.create(life, null);
  clock.now += 2 * HOUR;
  assert.equal(sessions.touch(secret, life), undefined);
});

Deno.test("a session keeps at most 300 characters of the user agent", () => {
  const { sessions } = clocked();
  const long = "Mozilla/5.0 ".repeat(100);
  const { info } = sessions.create(life, long);
  assert.equal(info.user_agent, long.slice(0, 300));
  assert.equal(sessions.list()[0].user_agent, long.slice(0, 300));
});
