import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { VERSION } from "../../version.ts";
import type { RouteContext } from "../context.ts";
import { localApi } from "./local_api.ts";
import { ToolError } from "./node_api.ts";
import { createMcpServer } from "./mcp_server.ts";

/**
 * `POST /mcp`: MCP over Streamable HTTP, stateless (a new server and
 * transport per request, answered as JSON). The token's scope decides which
 * tools are listed and every tool calls the API with that same token. The
 * SDK answers an unsupported `MCP-Protocol-Version` with 400.
 */
export async function serveMcpHttp(c: RouteContext): Promise<Response> {
  const server = createMcpServer({
    transport: "http",
    scope: c.principal?.token.scope ?? "read",
    servers: () => [{
      name: "local",
      url: c.url.origin,
      is_default: true,
      version: VERSION,
      last_seen_at: Date.now(),
    }],
    node(name) {
      if (name !== undefined && name !== "local") {
        throw new ToolError("PEER_NOT_FOUND", "Over HTTP, tools act on this node only");
      }
      return localApi(c.req, c.server);
    },
  });
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
    // File maps arrive as JSON (base64 grows bytes by a third).
    maxRequestBodySize: Math.ceil(c.server.settings.max_upload_bytes * 1.5) + 1024 * 1024,
  });
  await server.connect(transport);
  try {
    return await transport.handleRequest(c.req);
  } finally {
    await server.close();
  }
}
