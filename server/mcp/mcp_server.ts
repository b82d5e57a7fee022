import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import type { Variables } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";
import { VERSION } from "../../version.ts";
import type * as Api from "../api_types.ts";
import { ToolError, type ToolHost } from "./node_api.ts";
import { toolsFor } from "./tools.ts";

const INSTRUCTIONS = `fazt hosts static sites and serverless apps on one node.
Deploys are drafts unless promote is true: check the draft at its preview_url,
then call fazt_app_promote. Tool errors carry fazt's error code (APP_NOT_FOUND,
FORBIDDEN, VALIDATION_FAILED...). Resources: fazt://apps/{name}/files,
fazt://apps/{name}/files/{path} and fazt://apps/{name}/logs.`;

/** A failure as a tool result: the API's error envelope as text, `isError: true`. */
export function errorResult(err: unknown): CallToolResult {
  const error = err instanceof ToolError
    ? { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }
    : { code: "INTERNAL_ERROR", message: err instanceof Error ? err.message : String(err) };
  return { isError: true, content: [{ type: "text", text: JSON.stringify({ error }) }] };
}

function resourceError(err: unknown): Error {
  return err instanceof ToolError ? new Error(`${err.code}: ${err.message}`) : err as Error;
}

/** An MCP server with fazt's tools (those the host's scope allows) and resources. */
export function createMcpServer(host: ToolHost): McpServer {
  const server = new McpServer(
    { name: "fazt", version: VERSION, title: "fazt" },
    { instructions: INSTRUCTIONS, capabilities: { tools: {}, resources: {} } },
  );
  for (const tool of toolsFor(host)) {
    server.registerTool(tool.name, {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.input(host),
      outputSchema: tool.output,
      annotations: { title: tool.title, ...tool.annotations },
    }, async (args: Record<string, unknown>): Promise<CallToolResult> => {
      try {
        const out = await tool.run(args, host);
        return {
          content: [{ type: "text", text: JSON.stringify(out, null, 2) }],
          structuredContent: out,
        };
      } catch (err) {
        return errorResult(err);
      }
    });
  }
  registerResources(server, host);
  return server;
}

const enc = encodeURIComponent;

function registerResources(server: McpServer, host: ToolHost): void {
  const api = () => host.node();
  const listApps = async () => {
    try {
      const apps = await api().request<Api.AppSummary[]>("GET", "/api/apps");
      return apps;
    } catch (err) {
      throw resourceError(err);
    }
  };
  const json = (uri: URL, data: unknown): ReadResourceResult => ({
    contents: [{
      uri: uri.href,
      mimeType: "application/json",
      text: JSON.stringify(data, null, 2),
    }],
  });

  server.registerResource(
    "app-files",
    new ResourceTemplate("fazt://apps/{name}/files", {
      list: async () => ({
        resources: (await listApps()).map((a) => ({
          uri: `fazt://apps/${enc(a.name)}/files`,
          name: `${a.name} files`,
          mimeType: "application/json",
        })),
      }),
    }),
    {
      title: "An app's files",
      description: "The paths, sizes and types of an app's live version",
      mimeType: "application/json",
    },
    async (uri: URL, vars: Variables): Promise<ReadResourceResult> => {
      try {
        const name = String(vars.name);
        const list = await api().request<Api.FileList>(
          "GET",
          `/api/apps/${enc(decodeURIComponent(name))}/files`,
        );
        return json(uri, list);
      } catch (err) {
        throw resourceError(err);
      }
    },
  );

  server.registerResource(
    "app-file",
    new ResourceTemplate("fazt://apps/{name}/files/{+path}", { list: undefined }),
    {
      title: "A file of an app",
      description: "One file of an app's live version: text as is, anything else as a blob",
    },
    async (uri: URL, vars: Variables): Promise<ReadResourceResult> => {
      try {
        const name = decodeURIComponent(String(vars.name));
        const path = String(vars.path).split("/").map(decodeURIComponent).join("/");
        const f = await api().request<Api.FileContent>(
          "GET",
          `/api/apps/${enc(name)}/files/${path.split("/").map(enc).join("/")}`,
        );
        const mimeType = f.content_type.split(";")[0];
        return {
          contents: [
            f.encoding === "utf-8"
              ? { uri: uri.href, mimeType, text: f.content }
              : { uri: uri.href, mimeType, blob: f.content },
          ],
        };
      } catch (err) {
        throw resourceError(err);
      }
    },
  );

  server.registerResource(
    "app-logs",
    new ResourceTemplate("fazt://apps/{name}/logs", {
      list: async () => ({
        resources: (await listApps()).map((a) => ({
          uri: `fazt://apps/${enc(a.name)}/logs`,
          name: `${a.name} logs`,
          mimeType: "application/json",
        })),
      }),
    }),
    {
      title: "An app's recent logs",
      description: "The last 100 log lines of an app's server code, oldest first",
      mimeType: "application/json",
    },
    async (uri: URL, vars: Variables): Promise<ReadResourceResult> => {
      try {
        const name = decodeURIComponent(String(vars.name));
        return json(
          uri,
          await api().request<Api.LogEntry[]>("GET", `/api/apps/${enc(name)}/logs?limit=100`),
        );
      } catch (err) {
        throw resourceError(err);
      }
    },
  );
}
