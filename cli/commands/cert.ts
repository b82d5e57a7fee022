import type { Command } from "commander";
import type { Api } from "../../server/mod.ts";
import { connect, type ConnectionFlags } from "../connection.ts";
import { formatTime, printJson, printTable } from "../output.ts";

interface Flags extends ConnectionFlags {
  json?: boolean;
}

/** `fazt cert list`: every name the node serves and its certificate (never a key). */
export function certCommand(program: Command): void {
  const cert = program.command("cert").description("the node's HTTPS certificates");
  cert.command("list").description("each served name: issuer, expiry, last error, next attempt")
    .option("--url <url>", "server URL (default $FAZT_URL or the default peer)")
    .option("--token <token>", "API token (default $FAZT_TOKEN or the default peer's)")
    .option("--db <path>", "database holding the peers table")
    .option("--json", "print JSON")
    .action(async (flags: Flags) => {
      const r = await connect(flags).get<Api.Certificates>("/api/certificates");
      if (flags.json) return printJson(r);
      console.log(
        r.https
          ? `HTTPS on: certificates from ${r.directory}`
          : "HTTPS is off (fazt server start --https): no certificates are requested",
      );
      if (r.certificates.length === 0) return;
      printTable(
        ["NAME", "STATUS", "ISSUER", "EXPIRES", "NEXT ATTEMPT", "LAST ERROR"],
        r.certificates.map((c) => [
          c.name,
          c.status,
          c.issuer ?? "-",
          c.not_after === null ? "-" : formatTime(c.not_after),
          c.next_attempt_at === null ? "-" : formatTime(c.next_attempt_at),
          c.last_error === null ? "-" : `${c.failures}x: ${c.last_error}`,
        ]),
      );
    });
}
