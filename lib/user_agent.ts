/**
 * What analytics keeps of a `User-Agent` header: whether it is a bot, and the
 * browser family, OS family and device class. Never the string itself.
 */
export interface UserAgentInfo {
  bot: boolean;
  browser: string;
  os: string;
  /** `desktop`, `mobile`, `tablet` or `bot`. */
  device: string;
  /** `browser\nos\ndevice`, made once. */
  key: string;
}

// Crawlers, link previewers, monitors, headless browsers and HTTP libraries.
const BOT =
  /bot\b|bot\/|bots\b|crawl|spider|slurp|archiv|facebookexternalhit|embedly|preview|lighthouse|headless|phantomjs|puppeteer|playwright|selenium|pingdom|uptime|monitor|statuscake|curl\/|wget\/|httpie|python|java\/|go-http-client|okhttp|libwww|perl\/|ruby|php\/|node-fetch|axios|undici|deno\/|bun\/|postman|insomnia|scrapy|httpclient|feedfetcher|validator|whatsapp|telegram|discord|mediapartners|google-read-aloud|yahoo! slurp/i;

/** Parses one header; pure and cheap, but callers should still cache by string. */
export function parseUserAgent(ua: string | null | undefined): UserAgentInfo {
  const s = (ua ?? "").trim();
  // Real browsers all begin with "Mozilla/" (old Opera with "Opera/").
  const bot = !s || !/^(mozilla|opera)\//i.test(s) || BOT.test(s);
  const browser = bot ? "Bot" : browserOf(s);
  const os = osOf(s);
  const device = bot ? "bot" : deviceOf(s);
  return { bot, browser, os, device, key: `${browser}\n${os}\n${device}` };
}

function browserOf(s: string): string {
  if (/\bEdg(e|A|iOS)?\//.test(s)) return "Edge";
  if (/\bOPR\/|\bOpera\b|^Opera\//.test(s)) return "Opera";
  if (/SamsungBrowser\//.test(s)) return "Samsung Internet";
  if (/\bFirefox\/|\bFxiOS\//.test(s)) return "Firefox";
  if (/\bChrome\/|\bCriOS\/|\bChromium\//.test(s)) return "Chrome";
  if (/\bSafari\//.test(s) && /\bVersion\//.test(s)) return "Safari";
  if (/\bMSIE |Trident\//.test(s)) return "Internet Explorer";
  if (/\b(iPhone|iPad|iPod)\b/.test(s)) return "Safari"; // in-app WebViews
  return "Other";
}

function osOf(s: string): string {
  if (/\b(iPhone|iPad|iPod)\b/.test(s)) return "iOS";
  if (/\bAndroid\b/.test(s)) return "Android";
  if (/\bWindows\b/.test(s)) return "Windows";
  if (/\bCrOS\b/.test(s)) return "ChromeOS";
  if (/\bMac OS X\b|\bMacintosh\b/.test(s)) return "macOS";
  if (/\bLinux\b|\bX11\b/.test(s)) return "Linux";
  return "Other";
}

function deviceOf(s: string): string {
  if (/\biPad\b|\bTablet\b/i.test(s) || (/\bAndroid\b/.test(s) && !/\bMobile\b/.test(s))) {
    return "tablet";
  }
  if (/\bMobi|\biPhone\b|\biPod\b/.test(s)) return "mobile";
  return "desktop";
}

/**
 * A bounded cache of parsed headers: traffic repeats a few hundred distinct
 * strings, so the regular expressions run once per string, not per request.
 */
export class UserAgentCache {
  #map = new Map<string, UserAgentInfo>();

  constructor(readonly max = 2000) {}

  get(ua: string): UserAgentInfo {
    let info = this.#map.get(ua);
    if (!info) {
      info = parseUserAgent(ua);
      if (this.#map.size >= this.max) this.#map.clear();
      this.#map.set(ua, info);
    }
    return info;
  }

  get size(): number {
    return this.#map.size;
  }
}
