import assert from "node:assert/strict";
import { IgnoreRules } from "./faztignore.ts";

function check(text: string, cases: [string, boolean, boolean?][]): void {
  const rules = IgnoreRules.parse(text);
  for (const [path, ignored, isDir = false] of cases) {
    assert.equal(rules.ignores(path, isDir), ignored, `${JSON.stringify(text)}: ${path}`);
  }
}

Deno.test("a name without a slash matches at any depth, files and folders", () => {
  check("*.log\ndrafts\n", [
    ["debug.log", true],
    ["logs/a/debug.log", true],
    ["debug.log.txt", false],
    ["drafts", true, true],
    ["posts/drafts", true, true],
    ["drafts.html", false],
  ]);
});

Deno.test("a slash anchors to the deployed folder; a trailing slash means folders only", () => {
  check("/secret.txt\ndocs/*.md\nbuild/\n", [
    ["secret.txt", true],
    ["sub/secret.txt", false],
    ["docs/a.md", true],
    ["docs/deep/a.md", false],
    ["x/docs/a.md", false],
    ["build", true, true],
    ["build", false, false],
    ["src/build", true, true],
  ]);
});

Deno.test("** spans folders; ?, [] and escapes work as in git", () => {
  check(
    "**/cache\na/**/z.txt\nvendor/**\nfile?.txt\nimg[0-9].png\nnot[!a].css\n\\#hash\n\\!bang\n",
    [
      ["cache", true, true],
      ["x/y/cache", true, true],
      ["a/z.txt", true],
      ["a/b/c/z.txt", true],
      ["b/a/z.txt", false],
      ["vendor/lib/x.js", true],
      ["vendor", false, true],
      ["file1.txt", true],
      ["file12.txt", false],
      ["file/.txt", false],
      ["img7.png", true],
      ["imgx.png", false],
      ["notb.css", true],
      ["nota.css", false],
      ["#hash", true],
      ["!bang", true],
    ],
  );
});

Deno.test("the last matching pattern wins; ! re-includes", () => {
  check("*.json\n!manifest.json\n# a comment\n\n  \n", [
    ["data.json", true],
    ["manifest.json", false],
    ["deep/manifest.json", false],
  ]);
  check("!keep.txt\n*.txt\n", [["keep.txt", true]]);
  const rules = IgnoreRules.parse("*.ts");
  assert.equal(rules.match("a.js", false), undefined, "no pattern matched");
  rules.add(["!a.ts"]);
  assert.equal(rules.match("a.ts", false), false);
});

Deno.test("trailing spaces are dropped unless escaped", () => {
  check("a.txt   \nb\\ \n", [["a.txt", true], ["b ", true], ["b", false]]);
});
