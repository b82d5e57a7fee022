/**
 * Source maps (version 3) for app stack traces: a build's map is decoded
 * once, and error lines an app host sends are rewritten so their frames name
 * the developer's files (`api/main.ts:12:5`) instead of the bundle's blob:
 * URL. Pure: no storage, no processes.
 * @module
 */

/**
 * The fragment the Worker adds to the app module's URL when it imports it,
 * so the app's frames (`blob:null/<uuid>#fazt-app:12:5`) can be told from
 * the bootstrap's own (also a blob: URL) in the same stack.
 */
export const APP_MODULE_FRAGMENT = "#fazt-app";

/** A position in an original source; `line` and `column` count from 1. */
export interface SourcePosition {
  source: string;
  line: number;
  column: number;
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) DIGIT[BASE64.charCodeAt(i)] = i;

/** The largest map decoded (a bundle of a big app's dependencies is a few MB). */
const MAX_MAP_CHARS = 64 * 1024 * 1024;

export class SourceMapError extends Error {}

/**
 * A decoded map. Each generated line keeps its segments as flat
 * `[column, source, line, column]` quadruples, sorted by generated column.
 */
export class SourceMap {
  private constructor(
    readonly sources: readonly string[],
    private readonly lines: Int32Array[],
  ) {}

  /** Parses a map's JSON text; throws `SourceMapError` when it is not a usable v3 map. */
  static parse(text: string): SourceMap {
    if (text.length > MAX_MAP_CHARS) throw new SourceMapError("the source map is too large");
    let raw: { version?: unknown; sources?: unknown; mappings?: unknown; sections?: unknown };
    try {
      raw = JSON.parse(text);
    } catch {
      throw new SourceMapError("the source map is not JSON");
    }
    if (raw === null || typeof raw !== "object" || raw.version !== 3) {
      throw new SourceMapError("not a version 3 source map");
    }
    if (raw.sections !== undefined) throw new SourceMapError("indexed source maps are not read");
    const sources = raw.sources;
    if (!Array.isArray(sources) || typeof raw.mappings !== "string") {
      throw new SourceMapError("the source map has no sources or mappings");
    }
    const names = sources.map((s) => (typeof s === "string" ? s : ""));
    return new SourceMap(names, decodeMappings(raw.mappings, names.length));
  }

  /** The original position of generated `line`:`column` (both from 1), if mapped. */
  lookup(line: number, column: number): SourcePosition | undefined {
    const segments = this.lines[line - 1];
    if (!segments || segments.length === 0) return undefined;
    const col = column - 1;
    // The last segment starting at or before the column (binary search).
    let lo = 0;
    let hi = segments.length / 4 - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segments[mid * 4] <= col) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return undefined;
    const source = this.sources[segments[found * 4 + 1]];
    if (!source) return undefined;
    return { source, line: segments[found * 4 + 2] + 1, column: segments[found * 4 + 3] + 1 };
  }
}

function decodeMappings(mappings: string, sourceCount: number): Int32Array[] {
  const lines: Int32Array[] = [];
  let source = 0;
  let srcLine = 0;
  let srcCol = 0;
  let i = 0;
  const fields = [0, 0, 0, 0, 0];
  while (i <= mappings.length) {
    // One generated line: segments up to the next ';' (or the end).
    let end = mappings.indexOf(";", i);
    if (end === -1) end = mappings.length;
    const quads: number[] = [];
    let genCol = 0;
    let sorted = true;
    while (i < end) {
      let n = 0;
      while (i < end && mappings[i] !== ",") {
        if (n === 5) throw new SourceMapError("a mapping segment has more than 5 fields");
        let value = 0;
        let shift = 0;
        let more = true;
        while (more) {
          if (i >= end) throw new SourceMapError("a mapping ends inside a number");
          const code = mappings.charCodeAt(i++);
          const digit = code < 128 ? DIGIT[code] : -1;
          if (digit < 0) {
            throw new SourceMapError("the mappings hold a character that is not base64");
          }
          more = (digit & 32) !== 0;
          value += (digit & 31) * 2 ** shift;
          shift += 5;
          if (shift > 35) throw new SourceMapError("a mapping number is too large");
        }
        fields[n++] = value % 2 === 1 ? -(value - 1) / 2 : value / 2;
      }
      i++; // the ',' (or past `end`, which the outer loop corrects)
      if (n === 0) continue;
      if (n !== 1 && n !== 4 && n !== 5) throw new SourceMapError("a mapping segment is malformed");
      const col = genCol + fields[0];
      if (col < genCol) sorted = false;
      genCol = col;
      if (n === 1) continue; // a generated position with no original
      source += fields[1];
      srcLine += fields[2];
      srcCol += fields[3];
      if (source < 0 || source >= sourceCount || srcLine < 0 || srcCol < 0 || genCol < 0) {
        throw new SourceMapError("a mapping points outside the sources");
      }
      quads.push(genCol, source, srcLine, srcCol);
    }
    if (!sorted) sortQuads(quads);
    lines.push(Int32Array.from(quads));
    i = end + 1;
  }
  return lines;
}

function sortQuads(quads: number[]): void {
  const rows: number[][] = [];
  for (let k = 0; k < quads.length; k += 4) rows.push(quads.slice(k, k + 4));
  rows.sort((a, b) => a[0] - b[0]);
  quads.length = 0;
  for (const r of rows) quads.push(...r);
}

// `blob:null/<uuid>#fazt-app:12:5`, as V8 writes a frame's location.
const APP_FRAME = new RegExp(
  `blob:[^\\s()#]*${APP_MODULE_FRAGMENT}:(\\d+):(\\d+)`,
  "g",
);

/**
 * Rewrites the app module's frames in `text` (a stack trace, or any log
 * line holding one) to original positions. A position the map does not
 * cover is code the bundler wrote (its CommonJS wrapper, say): it reads
 * `<generated>:L:C`. Other URLs (the bootstrap's) are never touched.
 */
export function mapStackTrace(text: string, map: SourceMap): string {
  if (!text.includes(APP_MODULE_FRAGMENT)) return text;
  return text.replace(APP_FRAME, (_, line: string, column: string) => {
    const pos = map.lookup(Number(line), Number(column));
    return pos ? `${pos.source}:${pos.line}:${pos.column}` : `<generated>:${line}:${column}`;
  });
}

/**
 * Maps the stack traces in app log lines, per app version, loading and
 * decoding a version's map only when a line holds an app frame (most apps
 * never throw), and keeping the last few decoded.
 */
export class StackMapper {
  #maps = new Map<string, SourceMap | null>();

  constructor(
    private readonly load: (appId: number, version: number) => string | undefined,
    private readonly keep = 16,
  ) {}

  /** `text` with the app's frames mapped; as it was when the version has no usable map. */
  map(appId: number, version: number, text: string): string {
    if (!text.includes(APP_MODULE_FRAGMENT)) return text;
    const map = this.#get(appId, version);
    return map ? mapStackTrace(text, map) : text;
  }

  #get(appId: number, version: number): SourceMap | null {
    const key = `${appId}:${version}`;
    let map = this.#maps.get(key);
    if (map === undefined) {
      const text = this.load(appId, version);
      try {
        map = text === undefined ? null : SourceMap.parse(text);
      } catch {
        // A map the compiler wrote and cannot be read again: frames stay as they are.
        map = null;
      }
      if (this.#maps.size >= this.keep) this.#maps.delete(this.#maps.keys().next().value!);
    } else {
      this.#maps.delete(key);
    }
    this.#maps.set(key, map);
    return map;
  }
}
