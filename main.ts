import { main } from "./cli/mod.ts";

if (import.meta.main) {
  const code = await main(Deno.args);
  // `server start` returns only after shutdown; other commands end here.
  Deno.exit(code);
}
