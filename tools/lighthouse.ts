/**
 * `deno task lighthouse`: Lighthouse (mobile preset, its default) on the
 * dashboard's overview of a throw-away node with a few apps, in Debian's
 * Chromium; prints the performance and accessibility scores and the audits
 * that cost points. Targets (issue 18): performance >= 90, accessibility >= 98.
 * Exits 1 when a score is under its target.
 *
 *   deno task lighthouse [--path /apps] [--json report.json]
 * @module
 */
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";
import { startServer } from "../server/mod.ts";
import { Storage } from "../storage/mod.ts";
import { hashPassword } from "../lib/password.ts";
import { makeZip } from "../tests/helpers.ts";

const CHROMIUM = Deno.env.get("CHROME_PATH") ?? "/usr/bin/chromium";
const TARGETS = { performance: 90, accessibility: 98 };
const args = [...Deno.args];
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const path = flag("--path") ?? "/";
const jsonOut = flag("--json");

const dir = await Deno.makeTempDir({ prefix: "fazt-lighthouse-" });
const storage = Storage.open(`${dir}/data.db`);
const password = "lighthouse-password";
storage.owner.set("owner", await hashPassword(password));
const token = storage.tokens.create("lighthouse", "admin").token;
const server = await startServer({
  storage,
  overrides: { port: 0, host: "127.0.0.1" },
  log: () => {},
});
const base = `http://localhost:${server.port}`;
let chrome: chromeLauncher.LaunchedChrome | undefined;
let failed = false;
try {
  // A node with something to show: a few apps.
  for (const name of ["blog", "shop", "docs"]) {
    const zip = await makeZip({ "index.html": `<h1>${name}</h1>` });
    const res = await fetch(`${base}/api/deploy?name=${name}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/zip" },
      body: zip,
    });
    if (!res.ok) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
  }
  const login = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: base },
    body: JSON.stringify({ username: "owner", password }),
  });
  await login.body?.cancel();
  const cookie = login.headers.get("set-cookie")?.split(";")[0];
  if (!cookie) throw new Error(`sign-in failed: ${login.status}`);

  chrome = await chromeLauncher.launch({
    chromePath: CHROMIUM,
    chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  const result = await lighthouse(`${base}${path}`, {
    port: chrome.port,
    output: "json",
    logLevel: "error",
    onlyCategories: ["performance", "accessibility"],
    extraHeaders: { Cookie: cookie },
  });
  if (!result) throw new Error("Lighthouse gave no result");
  const { lhr } = result;
  if (jsonOut) await Deno.writeTextFile(jsonOut, JSON.stringify(lhr, null, 2));
  console.log(`Lighthouse ${lhr.lighthouseVersion} on ${path} (${lhr.configSettings.formFactor})`);
  for (const [id, target] of Object.entries(TARGETS)) {
    const category = lhr.categories[id];
    const score = Math.round((category?.score ?? 0) * 100);
    const ok = score >= target;
    if (!ok) failed = true;
    console.log(`${category?.title ?? id}: ${score} (target ${target}) ${ok ? "ok" : "UNDER"}`);
    for (const ref of category?.auditRefs ?? []) {
      const audit = lhr.audits[ref.id];
      if (ref.weight > 0 && audit.score !== null && audit.score < 0.9) {
        console.log(
          `  - ${audit.title}: ${audit.displayValue ?? Math.round(audit.score * 100)}`,
        );
      }
    }
  }
  for (const id of ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time"]) {
    const a = lhr.audits[id];
    if (a) console.log(`${a.title}: ${a.displayValue}`);
  }
} finally {
  await chrome?.kill();
  await server.close();
  storage.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
if (failed) Deno.exit(1);
