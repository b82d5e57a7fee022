/**
 * Whether a file name carries a content hash, so the file never changes
 * meaning and may be cached for good (`immutable`). The shapes build tools
 * emit:
 *
 *   Vite, Rollup, SvelteKit   index-BdX3k9_a.js, hero-CLDdwZDr.png   8 base64url characters
 *   VitePress                 app.DwJX-mpd.js, index.md.C2Moc9g2.lean.js
 *   Astro                     _astro/index.DRf8L97S.js, me.40e6410b_1OoVqG.png
 *   webpack, CRA, Parcel      main.3f9a1c2b.js, 787.5c1d2e3f.chunk.js   hex
 *   Next.js, Angular          webpack-59c5c889f52620d6.js   hex
 *   Hugo                      main.min.<sha256 hex>.css
 *
 * A wrong "yes" keeps a stale file in browsers for a year; a wrong "no" only
 * costs a revalidation, so names that read as words (`icon-facebook.svg`,
 * `logo-DarkMode.png`) or versions (`jquery-3.7.1.min.js`) are not hashes.
 * @module
 */

const EXTENSION =
  /\.(js|mjs|cjs|css|map|json|wasm|woff2?|ttf|otf|eot|png|jpe?g|gif|svg|webp|avif|ico|mp4|webm|mp3|ogg|wav)$/i;
// One qualifier may follow the hash: `.lean` (VitePress), `.chunk` (webpack), `.min`.
const QUALIFIER = /\.[a-z]{2,8}$/;
const HEX = /^[a-f0-9]{8,128}$/;
const SHORT = /^[A-Za-z0-9_-]{8}$/;
// Astro's transformed images: the source's hash, `_`, the transform's.
const ASTRO = /^([A-Za-z0-9_-]{8})_[A-Za-z0-9-]{4,24}$/;
// A word, CamelCase included, or an acronym.
const WORD = /^(?:(?:[A-Z]?[a-z]+)+|[A-Z]+)$/;

/** An 8-character base64url hash: digits and letters, or letters that are not words. */
function isShortHash(s: string): boolean {
  if (!SHORT.test(s)) return false;
  const digit = /\d/.test(s);
  const letter = /[A-Za-z]/.test(s);
  if (digit) return letter;
  // Letters only: a hash unless every part reads as a word (one case is always one).
  return !s.split(/[-_]/).every((part) => part === "" || WORD.test(part));
}

function isHash(s: string): boolean {
  if (HEX.test(s)) return /\d/.test(s) && /[a-f]/.test(s);
  if (isShortHash(s)) return true;
  const astro = ASTRO.exec(s);
  return astro !== null && isShortHash(astro[1]);
}

/** Whether the file at `path` has a content hash in its name (never for HTML). */
export function isFingerprinted(path: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const ext = EXTENSION.exec(name);
  if (!ext) return false;
  const stem = name.slice(0, ext.index);
  for (let i = 0; i < stem.length; i++) {
    if (stem[i] !== "." && stem[i] !== "-") continue;
    const rest = stem.slice(i + 1);
    if (isHash(rest)) return true;
    const qualifier = QUALIFIER.exec(rest);
    if (qualifier && isHash(rest.slice(0, qualifier.index))) return true;
  }
  return false;
}
