import assert from "node:assert/strict";
import {
  APP_NAME_PATTERN,
  appNameProblem,
  RESERVED_APP_NAMES,
  suggestAppName,
} from "./app_name.ts";

Deno.test("app names: what is accepted and why others are not", () => {
  for (const ok of ["a", "blog", "my-site-2", "0", "x".repeat(63), "root"]) {
    assert.equal(appNameProblem(ok), undefined, ok);
  }
  const bad: [string, string][] = [
    ["", "required"],
    ["x".repeat(64), "max_length"],
    ["Blog", "pattern"],
    ["my_site", "pattern"],
    ["-a", "pattern"],
    ["a-", "pattern"],
    ["a.b", "pattern"],
    ["a--b", "no_double_hyphen"],
    ["admin", "reserved"],
    ["api", "reserved"],
    ["www", "reserved"],
  ];
  for (const [name, problem] of bad) assert.equal(appNameProblem(name), problem, name);
});

Deno.test("folder names become app names", () => {
  assert.equal(suggestAppName("My Site"), "my-site");
  assert.equal(suggestAppName("site.zip"), "site");
  assert.equal(suggestAppName("__weird__name__"), "weird-name");
  assert.equal(suggestAppName("日本"), "");
});

Deno.test("APP_NAME_PATTERN is the rule without the reserved names", () => {
  const names = [
    "a",
    "blog",
    "my-site-2",
    "0",
    "x".repeat(63),
    "x".repeat(64),
    "",
    "Blog",
    "my_site",
    "-a",
    "a-",
    "a.b",
    "a--b",
    "a---b",
    ".",
    "..",
    "../x",
    "a/b",
    "%2e",
    "a b",
    "blog\n",
    "é",
    ...RESERVED_APP_NAMES,
  ];
  for (const name of names) {
    const problem = appNameProblem(name);
    const expected = problem === undefined || problem === "reserved";
    assert.equal(APP_NAME_PATTERN.test(name), expected, JSON.stringify(name));
  }
});
