/**
 * fazt as a library: open a node's database and run its server in-process.
 *
 * ```ts
 * import { startServer } from "./mod.ts";
 * const server = await startServer({ db: "./data.db", overrides: { port: 0 } });
 * ```
 * @module
 */
export { VERSION } from "./version.ts";
export * from "./server/mod.ts";
export * from "./server/mcp/mod.ts";
export * from "./storage/mod.ts";
export { buildProgram, CliError, main } from "./cli/mod.ts";
export type {
  AppContext,
  AppHandler,
  Blobs,
  Docs,
  Env,
  Kv,
  Log,
  StoredBlob,
} from "./runtime/app_types.ts";
