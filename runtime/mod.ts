/**
 * Serverless apps: the compiler run at deploy, the manifest, and the runtime
 * that runs one host process per app version. Other folders import this
 * folder through here.
 * @module
 */
export { AppRuntime, type AppTarget } from "./app_runtime.ts";
export { CronError, type CronJobStatus, CronScheduler } from "./cron_scheduler.ts";
export { CompileError, compileServerCode, SERVER_ENTRIES } from "./compiler.ts";
export { CompilerUnavailableError } from "./esbuild_binary.ts";
export { type DenoKvItem, denoKvPage } from "./kv_view.ts";
export { mapStackTrace, SourceMap, SourceMapError } from "./source_map.ts";
export {
  type Manifest,
  MANIFEST_FILES,
  ManifestError,
  parseManifest,
  routeMatches,
} from "./manifest.ts";
export { problem, type RuntimeErrorCode } from "./problem.ts";
export { spawnHelper } from "./spawn.ts";
