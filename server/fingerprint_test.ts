import assert from "node:assert/strict";
import { isFingerprinted } from "./fingerprint.ts";

// Names real builds emit (from the tools' own output and docs).
const HASHED = [
  "assets/hero-CLDdwZDr.png", // Vite: no digit in the hash
  "assets/index-BdX3k9_a.js",
  "assets/vendor-react-CLDdwZDr.js",
  "assets/app.DwJX-mpd.js", // VitePress
  "assets/index.md.C2Moc9g2.lean.js",
  "assets/style.BnvwTLmG.css",
  "assets/chunks/framework.CQ4bDxw8.js",
  "_astro/index.DRf8L97S.js", // Astro
  "_astro/cat.a6737dd3.png",
  "_astro/me.40e6410b_1OoVqG.png",
  "_astro/600x400.BbdsLTwF_2vAMsP.webp",
  "_app/immutable/entry/start.BQwXqY7z.js", // SvelteKit
  "static/js/main.3f9a1c2b.js", // create-react-app / webpack
  "static/js/787.5c1d2e3f.chunk.js",
  "static/css/main.8b2f1c3a.css",
  "index.a1b2c3d4.js", // Parcel
  "_next/static/chunks/webpack-59c5c889f52620d6.js", // Next.js
  "main.3f9a1c2b4d5e6f7a.js", // Angular
  "css/main.min.3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e.css", // Hugo
  "fonts/inter-latin-400-normal.B2H3cL9q.woff2",
];

// Names that must be revalidated: no hash, or one that reads as words or a version.
const PLAIN = [
  "main.js",
  "app.js",
  "index.html",
  "about-us.html",
  "assets/index-BdX3k9_a.html", // HTML is never immutable
  "jquery-3.7.1.min.js",
  "bootstrap.min.css",
  "logo-dark.png",
  "icons/icon-facebook.svg", // eight lowercase letters
  "icons/social-LinkedIn.svg", // a CamelCase word
  "images/logo-DarkMode.png",
  "icon.Sun-Moon.svg",
  "favicon.ico",
  "robots.txt",
  "img/photo-2023.jpg",
  "img/photo-12345678.jpg", // digits only: a date or a number
  "img/bg-1920x1080.jpg",
  "img/IMG.20231231_1200.jpg", // a date and a time, not a hash and its variant
  "fonts/roboto-regular.woff2",
  "icons/arrow-left.svg",
  "hero-background.png",
  "deadbeef.js",
  "data/report.json",
  "downloads/manual-3f9a1c2b.pdf", // not a kind of file builds hash
  // A real hash that happens to read as CamelCase words is missed: it is
  // only revalidated, the safe side.
  "assets/index-DiwrgTda.css",
];

Deno.test("names with the hashes build tools emit are fingerprinted", () => {
  for (const name of HASHED) assert.ok(isFingerprinted(name), name);
});

Deno.test("names without a hash, or with words or versions, are not", () => {
  for (const name of PLAIN) assert.ok(!isFingerprinted(name), name);
});
