import process from "node:process";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  type ApiBody,
  createMcpServer,
  type NodeApi,
  type ServerEntry,
  ToolError,
  type ToolHost,
} from "../server/mcp/mod.ts";
import { ApiError } from "../lib/envelope.ts";
import type { ApiClient } from "./api_client.ts";
import { CliError } from "./cli_error.ts";
import { connect, type ConnectionFlags } from "./connection.ts";
import { fileExists, resolveDbPath } from "./paths.ts";
import { PeerClient, withPeers } from "./peer_client.ts";
import { packageFolder } from "./deploy_package.ts";
import { visible } from "./output.ts";

export interface McpFlags extends ConnectionFlags {
  peer?: string;
}

/**
 * A CLI failure as a tool error: a node's refusal keeps its own code, message
 * and details (the CLI's message adds the details as text; a tool gives them apart).
 */
function toolError(err: CliError): ToolError {
  if (err.cause instanceof ApiError && err.cause.kind === "api") {
    return new ToolError(err.cause.code, err.cause.message, err.cause.details);
  }
  return new ToolError(err.code, err.message);
}

/** A peer's API for the tools: the CLI's client, its errors turned into tool errors. */
function peerApi(server: string, client: ApiClient): NodeApi {
  return {
    server,
    url: client.conn.url,
    async request<T>(method: string, path: string, body?: ApiBody): Promise<T> {
      try {
        if (body && "zip" in body) {
          return await client.request<T>(method, path, {
            body: body.zip as Uint8Array<ArrayBuffer>,
            type: "application/zip",
          });
        }
        if (body) {
          return await client.request<T>(method, path, {
            body: JSON.stringify(body.json),
            type: "application/json",
          });
        }
        return await client.request<T>(method, path);
      } catch (err) {
        if (err instanceof CliError) throw toolError(err);
        throw err;
      }
    },
  };
}

/** The tools' view of this machine: its peers table, or the one node of --url/$FAZT_URL. */
function stdioHost(flags: McpFlags): ToolHost {
  const explicit = flags.url ?? Deno.env.get("FAZT_URL") ?? flags.token ??
    Deno.env.get("FAZT_TOKEN");
  const asToolError = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof CliError) throw toolError(err);
      throw err;
    }
  };
  const peers = (): ServerEntry[] => {
    if (!fileExists(resolveDbPath(flags.db))) return [];
    return withPeers(flags.db, (s) => s.peers.list()).map((p) => ({
      name: p.name,
      url: p.url,
      is_default: flags.peer ? p.name === flags.peer : p.is_default,
      version: p.version,
      last_seen_at: p.last_seen_at,
    }));
  };
  return {
    transport: "stdio",
    servers: () =>
      asToolError(() => {
        if (!flags.peer && explicit) {
          const client = connect(flags);
          return [{
            name: client.conn.source,
            url: client.conn.url,
            is_default: true,
            version: null,
            last_seen_at: null,
          }];
        }
        return peers();
      }),
    node: (server) =>
      asToolError(() => {
        const name = server ?? flags.peer;
        if (name !== undefined) return peerApi(name, PeerClient.named(name, flags.db));
        const client = connect(flags);
        const label = client.conn.source.replace(/^peer '(.*)'$/, "$1");
        return peerApi(label, client);
      }),
    zipFolder: async (path) => {
      let isDir = false;
      try {
        isDir = (await Deno.stat(path)).isDirectory;
      } catch {
        // Reported below.
      }
      if (!isDir) throw new ToolError("NOT_FOUND", `'${path}' is not a folder on this machine`);
      // As `fazt deploy` packages it: build, static root, bundled server code.
      try {
        const p = await packageFolder(path, { note: (line) => console.error(visible(line)) });
        return { zip: p.zip, files: p.files };
      } catch (err) {
        throw err instanceof CliError ? toolError(err) : err;
      }
    },
  };
}

/**
 * Serves MCP on stdin/stdout until the client goes away. Loaded only by
 * `fazt mcp`, so the SDK costs the server nothing.
 */
export async function serveMcpStdio(flags: McpFlags): Promise<void> {
  const server = createMcpServer(stdioHost(flags));
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once("end", () => resolve());
    process.stdin.once("close", () => resolve());
  });
  await server.connect(transport);
  console.error("fazt mcp: serving MCP on stdio");
  await closed;
  await server.close();
}
