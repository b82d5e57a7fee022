import assert from "node:assert/strict";
import { parseUserAgent, UserAgentCache } from "./user_agent.ts";

const CASES: [string, boolean, string, string, string][] = [
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    false,
    "Chrome",
    "Windows",
    "desktop",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    false,
    "Edge",
    "Windows",
    "desktop",
  ],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    false,
    "Safari",
    "macOS",
    "desktop",
  ],
  [
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    false,
    "Firefox",
    "Linux",
    "desktop",
  ],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    false,
    "Safari",
    "iOS",
    "mobile",
  ],
  [
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0 Mobile/15E148 Safari/604.1",
    false,
    "Chrome",
    "iOS",
    "tablet",
  ],
  [
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    false,
    "Chrome",
    "Android",
    "mobile",
  ],
  [
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36",
    false,
    "Samsung Internet",
    "Android",
    "tablet",
  ],
  [
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0",
    false,
    "Opera",
    "ChromeOS",
    "desktop",
  ],
  [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    true,
    "Bot",
    "Other",
    "bot",
  ],
  [
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
    true,
    "Bot",
    "Other",
    "bot",
  ],
  [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
    true,
    "Bot",
    "Linux",
    "bot",
  ],
  [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    true,
    "Bot",
    "Other",
    "bot",
  ],
  ["curl/8.5.0", true, "Bot", "Other", "bot"],
  ["Deno/2.9.6", true, "Bot", "Other", "bot"],
  ["python-requests/2.31.0", true, "Bot", "Other", "bot"],
  ["", true, "Bot", "Other", "bot"],
];

Deno.test("user agents: bots, browser family, OS family, device class", () => {
  for (const [ua, bot, browser, os, device] of CASES) {
    const key = `${browser}\n${os}\n${device}`;
    assert.deepEqual(parseUserAgent(ua), { bot, browser, os, device, key }, ua);
  }
  assert.equal(parseUserAgent(null).bot, true);
});

Deno.test("user agents: the cache parses each string once and stays bounded", () => {
  const cache = new UserAgentCache(3);
  const a = cache.get(CASES[0][0]);
  assert.equal(cache.get(CASES[0][0]), a, "same object from the cache");
  for (const [ua] of CASES) cache.get(ua);
  assert.ok(cache.size <= 3);
});

/** The user agents of a fixture file: one a line, `# ` comment lines skipped. */
function fixture(name: string): string[] {
  return Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url))
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("# "));
}

Deno.test("user agents: at least 99% of a public crawler list is not counted", () => {
  const crawlers = fixture("crawler_user_agents.txt");
  assert.ok(crawlers.length >= 200, `${crawlers.length} crawlers in the fixture`);
  const counted = crawlers.filter((ua) => !parseUserAgent(ua).bot);
  const dropped = (crawlers.length - counted.length) / crawlers.length;
  assert.ok(
    dropped >= 0.99,
    `${(dropped * 100).toFixed(2)}% dropped; counted as visitors:\n${counted.join("\n")}`,
  );
});

Deno.test("user agents: no real browser is taken for a bot", () => {
  const browsers = fixture("browser_user_agents.txt");
  assert.ok(browsers.length >= 50, `${browsers.length} browsers in the fixture`);
  const dropped = browsers.filter((ua) => parseUserAgent(ua).bot);
  assert.deepEqual(dropped, []);
  // They are told apart too, not only let through.
  const families = new Set(browsers.map((ua) => parseUserAgent(ua).browser));
  for (const f of ["Chrome", "Firefox", "Safari", "Edge", "Samsung Internet", "Opera"]) {
    assert.ok(families.has(f), `no ${f} in the fixture`);
  }
});
