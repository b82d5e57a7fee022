/**
 * `.faztignore`: which files `fazt deploy` leaves out, in gitignore syntax.
 * Blank lines and `#` comments are skipped; `!` re-includes; a trailing `/`
 * matches folders only; a pattern with a `/` before its end is anchored to
 * the folder being deployed, one without matches at any depth; `*`, `?`,
 * `[...]` and `**` work as in git. The last pattern that matches decides, and
 * a file in a left-out folder stays out (as in git).
 * @module
 */

interface Rule {
  negated: boolean;
  dirOnly: boolean;
  re: RegExp;
}

/** An ordered list of patterns; later ones override earlier ones. */
export class IgnoreRules {
  #rules: Rule[] = [];

  /** Rules from gitignore text (lines). */
  static parse(text: string): IgnoreRules {
    return new IgnoreRules().add(text.split(/\r?\n/));
  }

  /** Appends patterns, in order. */
  add(lines: readonly string[]): this {
    for (const line of lines) {
      const rule = parseLine(line);
      if (rule) this.#rules.push(rule);
    }
    return this;
  }

  /**
   * Whether `path` (relative, `/`-separated) is left out by the last
   * pattern that matches it; `undefined` when none does.
   */
  match(path: string, isDir: boolean): boolean | undefined {
    let result: boolean | undefined;
    for (const rule of this.#rules) {
      if (rule.dirOnly && !isDir) continue;
      if (rule.re.test(path)) result = !rule.negated;
    }
    return result;
  }

  /** Whether `path` is left out (folders above it are checked by the walk). */
  ignores(path: string, isDir: boolean): boolean {
    return this.match(path, isDir) === true;
  }
}

function parseLine(raw: string): Rule | undefined {
  let line = raw;
  // Trailing spaces are dropped unless escaped with a backslash.
  line = line.replace(/(?<!\\)\s+$/, "").replace(/\\(\s)$/, "$1");
  if (line === "" || line.startsWith("#")) return undefined;
  let negated = false;
  if (line.startsWith("!")) {
    negated = true;
    line = line.slice(1);
  } else if (line.startsWith("\\!") || line.startsWith("\\#")) {
    line = line.slice(1);
  }
  let dirOnly = false;
  if (line.endsWith("/")) {
    dirOnly = true;
    line = line.replace(/\/+$/, "");
  }
  if (line === "") return undefined;
  // A slash at the start or in the middle anchors the pattern to the root.
  const anchored = line.includes("/");
  if (line.startsWith("/")) line = line.slice(1);
  const body = globToRegex(line);
  const re = new RegExp(`^${anchored ? "" : "(?:.*/)?"}${body}$`);
  return { negated, dirOnly, re };
}

function globToRegex(glob: string): string {
  let out = "";
  let i = 0;
  while (i < glob.length) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const before = i === 0 || glob[i - 1] === "/";
        const after = i + 2 === glob.length || glob[i + 2] === "/";
        if (before && after) {
          if (i + 2 === glob.length) {
            out += ".*"; // `dir/**`: everything inside
            i += 2;
          } else {
            out += "(?:.*/)?"; // `**/x`, `a/**/b`: zero or more folders
            i += 3;
          }
          continue;
        }
      }
      out += "[^/]*";
      i++;
    } else if (c === "?") {
      out += "[^/]";
      i++;
    } else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end === -1) {
        out += "\\[";
        i++;
        continue;
      }
      let cls = glob.slice(i + 1, end);
      if (cls.startsWith("!")) cls = "^" + cls.slice(1);
      out += `[${cls.replace(/\\/g, "\\\\")}]`;
      i = end + 1;
    } else if (c === "\\" && i + 1 < glob.length) {
      out += escapeRegex(glob[i + 1]);
      i += 2;
    } else {
      out += escapeRegex(c);
      i++;
    }
  }
  return out;
}

function escapeRegex(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
