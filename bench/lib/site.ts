/** Deterministic test sites: text that compresses like real text, bytes that do not. */
import { configure, Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from "@zip.js/zip.js";

configure({ useWebWorkers: false });

/** mulberry32: a small seeded PRNG, so every run builds the same bytes. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ("the of and to in is that for it as with was on be by this are from at or an have " +
  "not which but all were when we there can more if no out so said what up its about into than " +
  "them only other new some could time these two may then first any like now my such make over " +
  "site page render state value return const function import export default props class style " +
  "button header footer section article content layout component module request response data")
  .split(" ");

function words(rand: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(rand() * WORDS.length)]);
  return out.join(" ");
}

function fit(text: string, size: number, filler: (i: number) => string, tail: string): string {
  let s = text;
  for (let i = 0; s.length + tail.length < size; i++) s += filler(i);
  return (s.slice(0, size - tail.length) + tail).slice(0, size);
}

/** An HTML page of exactly `size` bytes (ASCII). */
export function htmlPage(size: number, seed: number): Uint8Array {
  const r = prng(seed);
  const head = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${words(r, 4)}</title><link rel="stylesheet" href="/assets/site.css"></head>\n<body>\n`;
  const tail = `\n<script src="/assets/app.js"></script></body></html>\n`;
  const html = fit(
    head,
    size,
    (i) =>
      `<section id="s${i}"><h2>${words(r, 5)}</h2><p>${words(r, 40)}</p>` +
      `<a href="/page-${i}.html" class="link">${words(r, 3)}</a></section>\n`,
    tail,
  );
  return new TextEncoder().encode(html);
}

/** A JavaScript bundle of exactly `size` bytes (ASCII). */
export function jsBundle(size: number, seed: number): Uint8Array {
  const r = prng(seed);
  const id = () => WORDS[Math.floor(r() * WORDS.length)] + Math.floor(r() * 1000);
  const js = fit(
    `"use strict";\n`,
    size,
    () =>
      `function ${id()}(${id()}, ${id()}) { const ${id()} = ${id()}.${id()}(${
        Math.floor(r() * 1e6)
      }); if (${id()} > ${Math.floor(r() * 100)}) { return "${words(r, 6)}"; } ` +
      `return [${id()}, ${id()}].map((x) => x + ${Math.floor(r() * 10)}); }\n`,
    "\n",
  );
  return new TextEncoder().encode(js);
}

/** A CSS file of exactly `size` bytes. */
export function cssFile(size: number, seed: number): Uint8Array {
  const r = prng(seed);
  const css = fit(
    "",
    size,
    (i) =>
      `.c${i}-${WORDS[Math.floor(r() * WORDS.length)]} { margin: ${Math.floor(r() * 40)}px; ` +
      `color: #${Math.floor(r() * 0xffffff).toString(16).padStart(6, "0")}; display: flex; }\n`,
    "\n",
  );
  return new TextEncoder().encode(css);
}

/** Incompressible bytes (stands in for images and fonts). */
export function binaryFile(size: number, seed: number): Uint8Array {
  const r = prng(seed);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let i = 0;
  for (; i + 4 <= size; i += 4) view.setUint32(i, Math.floor(r() * 4294967296));
  for (; i < size; i++) out[i] = Math.floor(r() * 256);
  return out;
}

// The same choice the CLI's zipFolder makes: already-compressed formats are stored.
const STORED = /\.(png|jpe?g|gif|webp|avif|woff2?|zip|gz|br|mp3|mp4|webm|ogg|pdf)$/i;

/** A ZIP of `files` (path → bytes), deflated like `fazt deploy` does. */
export async function zipFiles(files: Map<string, Uint8Array>): Promise<Uint8Array> {
  const writer = new ZipWriter(new Uint8ArrayWriter(), { useUnicodeFileNames: true });
  for (const [path, data] of files) {
    await writer.add(path, new Uint8ArrayReader(data), { level: STORED.test(path) ? 0 : 6 });
  }
  return await writer.close();
}

/** Writes `files` under `dir`, creating folders. */
export async function writeTree(dir: string, files: Map<string, Uint8Array>): Promise<void> {
  for (const [path, data] of files) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(full, data);
  }
}
