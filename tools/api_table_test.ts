import assert from "node:assert/strict";
import { type Route, ROUTES } from "../server/mod.ts";
import { apiTable, END, START, withApiTable } from "./api_table.ts";

Deno.test("the README's API table is ROUTES as they are (else: deno task api-table)", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  assert.equal(
    withApiTable(readme, ROUTES),
    readme,
    "README.md's API table differs from ROUTES: run `deno task api-table`",
  );
  for (const r of ROUTES) assert.ok(readme.includes(`| ${r.method} | \`${r.path}\` |`), r.path);
});

Deno.test("the table escapes pipes, and only the text between the markers changes", () => {
  const route = (summary: string): Route => ({
    method: "GET",
    path: "/api/x",
    auth: "read",
    summary,
    handler: () => new Response(),
  });
  assert.match(apiTable([route("a|b")]), /\| read \| a\\\|b \|$/);
  const readme = `# x\n${START}\nold table\n${END}\nafter\n`;
  assert.equal(
    withApiTable(readme, [route("One")]),
    `# x\n${START}\n${apiTable([route("One")])}\n${END}\nafter\n`,
  );
  assert.throws(() => withApiTable("# no markers\n", ROUTES), /no API table/);
});
