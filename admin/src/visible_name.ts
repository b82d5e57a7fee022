/**
 * Characters that change how a name looks without being seen themselves:
 * control characters (`Cc`), format characters (`Cf`: the bidi embeddings,
 * overrides and isolates U+202A–U+202E and U+2066–U+2069, the marks U+200E,
 * U+200F and U+061C, zero-width characters, the BOM) and line and paragraph
 * separators. A right-to-left override makes `invoice\u202Egpj.exe` read as
 * `invoiceexe.jpg`.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * A file name as the dashboard shows it: every hidden character written out
 * as an escape (`\u202E`, `\u{E0001}`), so none can disguise the rest of the
 * name or its extension. Display only: the API keeps and answers the raw name.
 */
export function visibleName(name: string): string {
  return name.replace(HIDDEN, (ch) => {
    const cp = ch.codePointAt(0)!;
    const hex = cp.toString(16).toUpperCase();
    return cp > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, "0")}`;
  });
}
