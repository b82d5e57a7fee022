import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  McpError,
  type ReadResourceRequest,
  ReadResourceRequestSchema,
  type ReadResourceResult,
} from "@modelcontextprotocol/sdk/types.js";
import type { Variables } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";
import { z } from "zod";
import { APP_NAME_PATTERN } from "../../lib/app_name.ts";
import { VERSION } from "../../version.ts";
import type * as Api from "../api_types.ts";
import { ToolError, type ToolHost } from "./node_api.ts";
import { type ToolDef, toolsFor } from "./tools.ts";

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

/** Arguments the tool's schema refused, as fazt's `VALIDATION_FAILED` (its first problem). */
function invalidArguments(error: z.ZodError): ToolError {
  const issue = error.issues[0];
  const field = issue.path.map(String).join(".") || "arguments";
  const constraint = issue.code === "invalid_format" ? "pattern" : issue.code;
  return new ToolError("VALIDATION_FAILED", `${field}: ${issue.message}`, { field, constraint });
}

/** MCP's "Resource not found" (the SDK has no name for it). */
export const RESOURCE_NOT_FOUND = -32002;

/** fazt's codes that mean the resource is not there. */
const MISSING = new Set(["NOT_FOUND", "APP_NOT_FOUND", "FILE_NOT_FOUND", "VERSION_NOT_FOUND"]);

function notFound(uri: string): McpError {
  return new McpError(RESOURCE_NOT_FOUND, `Resource ${uri} not found`, { uri });
}

/**
 * A failed resource read as a JSON-RPC error: -32002 when the app or file is
 * not there, else -32603; `data` carries fazt's code and details either way.
 */
function resourceError(uri: string, err: unknown): Error {
  if (!(err instanceof ToolError)) return err as Error;
  const data = { uri, code: err.code, ...(err.details ? { details: err.details } : {}) };
  const code = MISSING.has(err.code) ? RESOURCE_NOT_FOUND : ErrorCode.InternalError;
  return new McpError(code, `${err.code}: ${err.message}`, data);
}

/** An MCP server with fazt's tools (those the host's scope allows) and resources. */
export function createMcpServer(host: ToolHost): McpServer {
  const server = new McpServer(
    { name: "fazt", version: VERSION, title: "fazt" },
    { instructions: INSTRUCTIONS, capabilities: { tools: {}, resources: {} } },
  );
  const tools = new Map<string, { def: ToolDef; input: z.ZodObject }>();
  const run = async (def: ToolDef, args: Record<string, unknown>): Promise<CallToolResult> => {
    try {
      const out = await def.run(args, host);
      return {
        content: [{ type: "text", text: JSON.stringify(out, null, 2) }],
        structuredContent: out,
      };
    } catch (err) {
      return errorResult(err);
    }
  };
  for (const def of toolsFor(host)) {
    const shape = def.input(host);
    tools.set(def.name, { def, input: z.object(shape) });
    server.registerTool(def.name, {
      title: def.title,
      description: def.description,
      inputSchema: shape,
      outputSchema: def.output,
      annotations: { title: def.title, ...def.annotations },
    }, (args: Record<string, unknown>) => run(def, args));
  }
  // Calls are answered here rather than by the SDK, so that arguments the schema
  // refuses come back as fazt's VALIDATION_FAILED envelope (field, constraint),
  // like every other failure, instead of the SDK's plain text.
  server.server.removeRequestHandler("tools/call");
  server.server.setRequestHandler(CallToolRequestSchema, (request: CallToolRequest) => {
    const { name, arguments: args } = request.params;
    const tool = tools.get(name);
    if (!tool) {
      return errorResult(new ToolError("TOOL_NOT_FOUND", `Tool ${name} not found`));
    }
    const parsed = tool.input.safeParse(args ?? {});
    if (!parsed.success) return errorResult(invalidArguments(parsed.error));
    return run(tool.def, parsed.data as Record<string, unknown>);
  });
  registerResources(server, host);
  // Each request over HTTP gets a server of its own, so no list can change under a
  // client and no notification could reach it: say so, rather than the SDK's default.
  server.server.registerCapabilities({
    tools: { listChanged: false },
    resources: { listChanged: false },
  });
  return server;
}

const enc = encodeURIComponent;

/** An app name from a resource URI, or `undefined` when it cannot be one. */
function appNameOf(vars: Variables): string | undefined {
  try {
    const name = decodeURIComponent(String(vars.name));
    return APP_NAME_PATTERN.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

/** A file path from a resource URI, or `undefined` when a segment is empty, `.` or `..`. */
function filePathOf(vars: Variables): string[] | undefined {
  try {
    const segments = String(vars.path).split("/").map(decodeURIComponent);
    return segments.every((s) => s !== "" && s !== "." && s !== "..") ? segments : undefined;
  } catch {
    return undefined;
  }
}

function registerResources(server: McpServer, host: ToolHost): void {
  const api = () => host.node();
  const listApps = async () => {
    try {
      return await api().request<Api.AppSummary[]>("GET", "/api/apps");
    } catch (err) {
      throw err instanceof ToolError
        ? new McpError(ErrorCode.InternalError, `${err.code}: ${err.message}`, { code: err.code })
        : err;
    }
  };
  const json = (uri: string, data: unknown): ReadResourceResult => ({
    contents: [{
      uri,
      mimeType: "application/json",
      text: JSON.stringify(data, null, 2),
    }],
  });
  // Reads are answered by the handler below, which knows every template.
  type Read = (uri: string, vars: Variables) => Promise<ReadResourceResult>;
  const templates: [ResourceTemplate, Read][] = [];
  const add = (
    name: string,
    template: ResourceTemplate,
    meta: Parameters<McpServer["registerResource"]>[2],
    read: Read,
  ) => {
    // `uri` is the URI as the client sent it, so replies and errors name it the same way.
    const guarded: Read = async (uri, vars) => {
      try {
        return await read(uri, vars);
      } catch (err) {
        throw resourceError(uri, err);
      }
    };
    templates.push([template, guarded]);
    server.registerResource(
      name,
      template,
      meta,
      (uri: URL, vars: Variables) => guarded(uri.href, vars),
    );
  };

  add(
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
    async (uri, vars) => {
      const name = appNameOf(vars);
      if (name === undefined) throw notFound(uri);
      return json(uri, await api().request<Api.FileList>("GET", `/api/apps/${enc(name)}/files`));
    },
  );

  add(
    "app-file",
    new ResourceTemplate("fazt://apps/{name}/files/{+path}", { list: undefined }),
    {
      title: "A file of an app",
      description: "One file of an app's live version: text as is, anything else as a blob",
    },
    async (uri, vars) => {
      const name = appNameOf(vars);
      const path = filePathOf(vars);
      if (name === undefined || path === undefined) throw notFound(uri);
      const f = await api().request<Api.FileContent>(
        "GET",
        `/api/apps/${enc(name)}/files/${path.map(enc).join("/")}`,
      );
      const mimeType = f.content_type.split(";")[0];
      return {
        contents: [
          f.encoding === "utf-8"
            ? { uri, mimeType, text: f.content }
            : { uri, mimeType, blob: f.content },
        ],
      };
    },
  );

  add(
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
    async (uri, vars) => {
      const name = appNameOf(vars);
      if (name === undefined) throw notFound(uri);
      return json(
        uri,
        await api().request<Api.LogEntry[]>("GET", `/api/apps/${enc(name)}/logs?limit=100`),
      );
    },
  );

  // The SDK answers a URI that matches no template with -32602; MCP says -32002.
  server.server.removeRequestHandler("resources/read");
  server.server.setRequestHandler(ReadResourceRequestSchema, (request: ReadResourceRequest) => {
    // Matched on the URI as sent: URL parsing would resolve `..` segments first.
    const uri = request.params.uri;
    for (const [template, read] of templates) {
      const vars = template.uriTemplate.match(uri);
      if (vars) return read(uri, vars);
    }
    throw notFound(uri);
  });
}
