import { main } from "./cli/mod.ts";

if (import.meta.main) {
  // Hidden subcommands: how a bundled fazt starts its own helper processes.
  if (Deno.args[0] === "__app-host") {
    // Loaded only here: the Worker's bootstrap is large and the CLI never needs it.
    const { runAppHost } = await import("./runtime/host_main.ts");
    await runAppHost();
  } else if (Deno.args[0] === "__compile") {
    // Loaded only here: esbuild reads the environment as soon as it loads.
    const { runCompiler } = await import("./runtime/compile_main.ts");
    await runCompiler();
  } else if (Deno.args[0] === "__acme") {
    // Loaded only here: acme-client reads the whole environment as it loads.
    const { runAcme } = await import("./server/certs/acme_main.ts");
    await runAcme();
    Deno.exit(0);
  } else {
    const code = await main(Deno.args);
    // `server start` returns only after shutdown; other commands end here.
    Deno.exit(code);
  }
}
