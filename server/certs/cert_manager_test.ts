import assert from "node:assert/strict";
import { backoff, RENEW_BEFORE_MS, renewAt, retryAfterOf } from "./cert_manager.ts";
import { certifiableDomain, wantedNames } from "./wanted_names.ts";

const DAY = 86_400_000;

Deno.test("renewal: 30 days before expiry, or at two thirds of a shorter life", () => {
  assert.equal(RENEW_BEFORE_MS, 30 * DAY);
  assert.equal(
    renewAt({ not_before: 0, not_after: 90 * DAY }),
    60 * DAY,
    "Let's Encrypt's 90 days",
  );
  assert.equal(renewAt({ not_before: 0, not_after: 5 * 365 * DAY }), 5 * 365 * DAY - 30 * DAY);
  assert.equal(renewAt({ not_before: 0, not_after: 45 * DAY }), 30 * DAY, "45 days: a third left");
  assert.equal(renewAt({ not_before: 0, not_after: 6 * DAY }), 4 * DAY, "six-day certificates");
});

Deno.test("backoff doubles from the base up to the cap", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoff(n, 60_000, 300_000)), [
    60_000,
    120_000,
    240_000,
    300_000,
    300_000,
  ]);
  assert.equal(backoff(0, 100, 1000), 100);
  assert.equal(backoff(10_000, 100, 1000), 1000, "no overflow after many failures");
});

Deno.test("a CA's rate-limit error says when to come back", () => {
  const le = 'too many certificates (50) already issued for "example.com" in the last 168h0m0s, ' +
    "retry after 2026-03-10 12:34:56 UTC: see https://letsencrypt.org/docs/rate-limits/";
  assert.equal(retryAfterOf(le), Date.UTC(2026, 2, 10, 12, 34, 56));
  assert.equal(retryAfterOf("retry after 2026-03-10T12:34:56Z"), Date.UTC(2026, 2, 10, 12, 34, 56));
  assert.equal(retryAfterOf("connect ECONNREFUSED 127.0.0.1:14000"), undefined);
});

Deno.test("wanted names: the domain, admin, live apps and custom domains, nothing else", () => {
  const names = wantedNames("fazt.example", ["blog", "root"], [
    { name: "shop.example.com", app: "shop" },
    { name: "blog.fazt.example", app: "other" }, // cannot be added; never doubled
  ]);
  assert.deepEqual(names, [
    { name: "admin.fazt.example", kind: "admin", app: null },
    { name: "blog.fazt.example", kind: "app", app: "blog" },
    { name: "fazt.example", kind: "domain", app: "root" },
    { name: "root.fazt.example", kind: "app", app: "root" },
    { name: "shop.example.com", kind: "custom", app: "shop" },
  ]);
  assert.deepEqual(
    wantedNames("localhost", ["blog"], [{ name: "shop.example.com", app: "shop" }]),
    [{ name: "shop.example.com", kind: "custom", app: "shop" }],
    "a node on localhost certifies only its custom domains",
  );
});

Deno.test("certifiable domains: public DNS names only", () => {
  for (const ok of ["fazt.example", "example.com", "a.b.c.example"]) {
    assert.ok(certifiableDomain(ok), ok);
  }
  for (const bad of ["localhost", "127.0.0.1", "single", "x.localhost", "Fazt.Example"]) {
    assert.ok(!certifiableDomain(bad), bad);
  }
});
