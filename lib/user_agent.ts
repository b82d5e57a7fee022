/**
 * What analytics keeps of a `User-Agent` header: whether it is a bot, and the
 * browser family, OS family and device class. Never the string itself.
 */
import { isbot } from "isbot";

export interface UserAgentInfo {
  bot: boolean;
  browser: string;
  os: string;
  /** `desktop`, `mobile`, `tablet` or `bot`. */
  device: string;
  /** `browser\nos\ndevice`, made once. */
  key: string;
}

/**
 * Whether a request comes from a crawler, a link previewer, a monitor, a
 * headless browser or an HTTP library rather than a person's browser.
 * `isbot` keeps the list of crawlers (maintained upstream, tested against
 * public crawler lists without flagging browsers); fazt adds that every
 * browser sends a `User-Agent` beginning with `Mozilla/` (old Opera:
 * `Opera/`), so anything else, or nothing, is not a visitor either.
 */
export function isBotAgent(ua: string): boolean {
  return !ua || !/^(mozilla|opera)\//i.test(ua) || isbot(ua);
}

/** Parses one header; callers should cache by string (see `UserAgentCache`). */
export function parseUserAgent(ua: string | null | undefined): UserAgentInfo {
  const s = (ua ?? "").trim();
  const bot = isBotAgent(s);
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
