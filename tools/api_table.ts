/**
 * The README's API table, made from `ROUTES` as `/llms.txt` is, so the two
 * never disagree with the code: `deno task api-table` rewrites it between
 * its markers, and `api_table_test.ts` fails while it is out of date.
 * @module
 */
import { type Route, ROUTES } from "../server/mod.ts";

/** The line after which the table starts. */
export const START = "<!-- api-table: made from ROUTES by `deno task api-table`; do not edit -->";
/** The line before which it ends. */
export const END = "<!-- /api-table -->";

/** One Markdown row per route, in the table's order. */
export function apiTable(routes: readonly Route[]): string {
  const cell = (text: string) => text.replaceAll("|", "\\|");
  return [
    "| Method | Path | Scope | What |",
    "| --- | --- | --- | --- |",
    ...routes.map((r) => `| ${r.method} | \`${cell(r.path)}\` | ${r.auth} | ${cell(r.summary)} |`),
  ].join("\n");
}

/** `readme` with what stands between the markers replaced by the table of `routes`. */
export function withApiTable(readme: string, routes: readonly Route[]): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end < start) {
    throw new Error(`README.md has no API table between '${START}' and '${END}'`);
  }
  return `${readme.slice(0, start + START.length)}\n${apiTable(routes)}\n${readme.slice(end)}`;
}

if (import.meta.main) {
  const path = new URL("../README.md", import.meta.url);
  const before = await Deno.readTextFile(path);
  const after = withApiTable(before, ROUTES);
  if (after === before) console.log("README.md: the API table is up to date");
  else {
    await Deno.writeTextFile(path, after);
    console.log(`README.md: the API table rewritten (${ROUTES.length} routes)`);
  }
}
