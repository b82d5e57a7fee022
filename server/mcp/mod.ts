/**
 * The MCP server for coding agents: tools and resources defined once, served
 * over stdio by `fazt mcp` and over Streamable HTTP at `/mcp`.
 * @module
 */
export { createMcpServer, errorResult } from "./mcp_server.ts";
export {
  type ApiBody,
  type NodeApi,
  type ServerEntry,
  ToolError,
  type ToolHost,
} from "./node_api.ts";
export { type ToolDef, TOOLS, toolsFor } from "./tools.ts";
export { type FileContent, zipFiles } from "./zip_files.ts";
