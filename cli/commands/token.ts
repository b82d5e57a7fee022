import type { Command } from "commander";
import { isScope, SCOPES, Storage } from "../../storage/mod.ts";
import { CliError } from "../cli_error.ts";
import { formatTime, printJson, printTable } from "../output.ts";
import { resolveDbPath } from "../paths.ts";

function withStorage<T>(db: string | undefined, fn: (s: Storage) => T): T {
  const storage = Storage.open(resolveDbPath(db));
  try {
    return fn(storage);
  } finally {
    storage.close();
  }
}

export function tokenCommand(program: Command): void {
  const token = program.command("token").description(
    "API tokens of this node (works on its database)",
  );
  token.command("create")
    .description("create a token and print it (it is shown only once)")
    .requiredOption("--name <name>", "what the token is for")
    .option("--scope <scope>", `one of ${SCOPES.join(", ")}`, "deploy")
    .option("--db <path>", "database file")
    .option("--json", "print JSON")
    .action((opts: { name: string; scope: string; db?: string; json?: boolean }) => {
      if (!isScope(opts.scope)) {
        throw new CliError(`--scope must be one of ${SCOPES.join(", ")}`, "VALIDATION_FAILED");
      }
      const scope = opts.scope;
      if (!opts.name.trim()) throw new CliError("--name must not be empty", "VALIDATION_FAILED");
      const created = withStorage(opts.db, (s) => s.tokens.create(opts.name.trim(), scope));
      if (opts.json) printJson({ ...created.info, token: created.token });
      else console.log(created.token);
    });
  token.command("list")
    .description("list tokens (never their secrets)")
    .option("--db <path>", "database file")
    .option("--json", "print JSON")
    .action((opts: { db?: string; json?: boolean }) => {
      const tokens = withStorage(opts.db, (s) => s.tokens.list());
      if (opts.json) return printJson(tokens);
      printTable(
        ["ID", "NAME", "SCOPE", "CREATED", "LAST USED"],
        tokens.map((
          t,
        ) => [t.id, t.name, t.scope, formatTime(t.created_at), formatTime(t.last_used_at)]),
      );
    });
  token.command("revoke")
    .description("revoke a token by id")
    .argument("<id>", "token id (see 'token list')")
    .option("--db <path>", "database file")
    .action((id: string, opts: { db?: string }) => {
      const n = Number(id);
      if (!Number.isInteger(n) || n < 1) {
        throw new CliError("the id must be a positive whole number", "VALIDATION_FAILED");
      }
      if (!withStorage(opts.db, (s) => s.tokens.revoke(n))) {
        throw new CliError(`no token with id ${n}`, "TOKEN_NOT_FOUND");
      }
      console.log(`revoked token ${n}`);
    });
}
