import { VERSION } from "../../version.ts";
import type { RouteContext } from "../context.ts";
import type * as Api from "../api_types.ts";
import { HttpError } from "../http_error.ts";
import { requestHost } from "../request_host.ts";
import { type JsonAnswer, plainJson } from "../respond.ts";

/**
 * A browser page may only reach `/mcp` from the admin host's own origin:
 * with DNS rebinding a hostile page could otherwise drive the node with a
 * token it does not have but a local client does. Clients that send no
 * `Origin` (CLI agents) are not browsers and pass.
 */
function checkOrigin(req: Request): void {
  const origin = req.headers.get("origin");
  if (origin === null) return;
  let host: string | undefined;
  try {
    const u = new URL(origin);
    if (u.protocol === "http:" || u.protocol === "https:") host = u.host;
  } catch {
    // Not a URL: refused below.
  }
  if (!host || host !== requestHost(req).toLowerCase()) {
    throw new HttpError(403, "FORBIDDEN_ORIGIN", `Origin '${origin}' may not use this node's MCP`);
  }
}

/**
 * `POST /mcp`: MCP over Streamable HTTP. The SDK is loaded on the first call,
 * so a node nobody drives over MCP does not carry it (about 25 MiB).
 */
export async function mcpEndpoint(c: RouteContext): Promise<Response> {
  checkOrigin(c.req);
  // The tools call the API with the caller's own Authorization header, which a
  // dashboard session does not have: refused here rather than listing tools that fail.
  if (c.principal?.kind === "session") {
    throw new HttpError(
      401,
      "TOKEN_REQUIRED",
      "/mcp takes an API token (Authorization: Bearer), not a dashboard session",
      { headers: { "www-authenticate": 'Bearer realm="fazt"' } },
    );
  }
  const { serveMcpHttp } = await import("../mcp/http_endpoint.ts");
  return await serveMcpHttp(c);
}

/** `GET /.well-known/mcp.json`: where and how an agent connects. */
export async function wellKnownMcp(c: RouteContext): Promise<JsonAnswer<Api.McpDiscovery>> {
  const { TOOLS } = await import("../mcp/tools.ts");
  return plainJson({
    name: "fazt",
    version: VERSION,
    description: "A fazt node: static sites and serverless apps, deployed and managed by API",
    transport: { type: "streamable-http", url: `${c.url.origin}/mcp` },
    authentication: {
      type: "bearer",
      header: "Authorization: Bearer <token>",
      how: "Create a token on the node: fazt token create --name agent --scope deploy",
      scopes: {
        read: "list and read only",
        deploy: "also deploy, promote, roll back",
        admin: "also delete",
      },
    },
    stdio: { command: "fazt", args: ["mcp"] },
    tools: TOOLS.map((t) => ({ name: t.name, scope: t.scope, description: t.description })),
    resources: [
      "fazt://apps/{name}/files",
      "fazt://apps/{name}/files/{path}",
      "fazt://apps/{name}/logs",
    ],
    docs: `${c.url.origin}/llms.txt`,
  }, { headers: { "cache-control": "no-store" } });
}

/** `GET /llms.txt`: the node described for language models, in Markdown. */
export async function llmsTxt(c: RouteContext): Promise<Response> {
  const { TOOLS } = await import("../mcp/tools.ts");
  const o = c.url.origin;
  const tools = TOOLS.map((t) => `- \`${t.name}\` (${t.scope}): ${t.description}`).join("\n");
  const api = c.server.routes.filter((r) => r.path.startsWith("/api/"))
    .map((r) => `- ${r.method} ${r.path} (${r.auth}): ${r.summary}`).join("\n");
  const text = `# fazt ${VERSION}

> A fazt node: one program and one SQLite file hosting static sites and
> serverless apps. Agents drive it over MCP or its JSON API.

## Connect

- MCP (Streamable HTTP): POST ${o}/mcp with \`Authorization: Bearer <token>\`
  (a dashboard session cookie is refused there).
- MCP (stdio, on a machine with the fazt CLI): \`fazt mcp\` (or \`fazt mcp --peer NAME\`).
- Discovery: ${o}/.well-known/mcp.json
- Tokens: \`fazt token create --name agent --scope read|deploy|admin\` on the node.

## Tools

${tools}

## Deploying

\`fazt_deploy\` makes a draft unless \`promote: true\`: the draft is served at
\`<app>--v<N>.<domain>\` (its \`preview_url\`); \`fazt_app_promote\` makes it live,
\`fazt_app_rollback\` goes back.

## HTTP API

Every \`/api\` answer is \`{"data": …}\` or \`{"error": {"code", "message"}}\`; send
\`Authorization: Bearer <token>\`. Deploy with \`POST /api/deploy?name=<app>&draft=1\`
and an \`application/zip\` body.

${api}
`;
  return new Response(c.req.method === "HEAD" ? null : text, {
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}
