/**
 * The MCP tools, defined once for both transports: `fazt mcp` (stdio, acting
 * on peers over HTTP) and `/mcp` (Streamable HTTP, acting on this node).
 * Every tool has a JSON Schema input (zod), a structured output and
 * annotations; a failure is a result with `isError: true` whose text is the
 * API's error envelope, never a protocol error.
 * @module
 */
import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { APP_NAME_PATTERN } from "../../lib/app_name.ts";
import { DOMAIN_NAME_PATTERN, MAX_DOMAIN_LENGTH } from "../../lib/domain_name.ts";
import { isCompatibleVersion } from "../../lib/compatible_version.ts";
import { scopeAllows } from "../../storage/mod.ts";
import type { Scope } from "../../storage/mod.ts";
import { VERSION } from "../../version.ts";
import type * as Api from "../api_types.ts";
import { type NodeApi, ToolError, type ToolHost } from "./node_api.ts";
import { type FileContent, zipFiles } from "./zip_files.ts";

type Shape = Record<string, z.ZodType>;
type Args = Record<string, unknown>;
type Output = Record<string, unknown>;

export interface ToolDef {
  name: string;
  title: string;
  description: string;
  /** The lowest token scope that may call it; tools above the caller's scope are not listed. */
  scope: Scope;
  annotations: ToolAnnotations;
  /** The input shape; a transport may add or drop fields (`server`, `path`). */
  input(host: ToolHost): Shape;
  output: z.ZodObject;
  run(args: Args, host: ToolHost): Promise<Output>;
}

// The pattern keeps '.', '..', '/' and escapes out of the API paths the name becomes part of.
const appName = z.string().min(1).max(63).regex(
  APP_NAME_PATTERN,
  "must be lower-case letters, digits and single hyphens, starting and ending with a " +
    "letter or digit",
).describe(
  "The app's name (its subdomain), e.g. 'blog': lower-case letters, digits and single hyphens",
);
const domainName = z.string().min(1).max(MAX_DOMAIN_LENGTH).regex(
  DOMAIN_NAME_PATTERN,
  "must be a domain name like shop.example.com: labels of letters, digits and inner hyphens",
).describe(
  "A custom domain, e.g. 'shop.example.com' (no scheme, port or path; Unicode names are " +
    "stored in their IDNA form)",
);
const certificate = z.looseObject({
  name: z.string(),
  status: z.string(),
  not_after: z.number().nullable(),
  last_error: z.string().nullable(),
}).nullable();
const customDomain = z.looseObject({
  name: z.string(),
  unicode: z.string(),
  app: z.string(),
  created_at: z.number(),
  certificate,
});
const serverArg = z.string().min(1).optional().describe(
  "Peer name from fazt_servers_list (default: the default peer)",
);

/** Adds the `server` argument where there is more than one node to choose from. */
function withServer(host: ToolHost, shape: Shape): Shape {
  return host.transport === "stdio" ? { ...shape, server: serverArg } : shape;
}

const READ: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

const enc = encodeURIComponent;

function nodeOf(args: Args, host: ToolHost): NodeApi {
  return host.node(args.server as string | undefined);
}

const appRow = z.looseObject({
  name: z.string(),
  live_version: z.number().nullable(),
  url: z.string(),
});

const version = z.looseObject({
  number: z.number(),
  files: z.number(),
  bytes: z.number(),
  live: z.boolean(),
});

const cronRun = z.looseObject({
  id: z.number(),
  job: z.string(),
  trigger: z.string(),
  started_at: z.number(),
  duration_ms: z.number().nullable(),
  outcome: z.string(),
  error: z.string().nullable(),
});

const liveChange = z.looseObject({
  server: z.string(),
  app: z.string(),
  live_version: z.number(),
  previous_version: z.number().nullable(),
});

export const TOOLS: readonly ToolDef[] = [
  {
    name: "fazt_servers_list",
    title: "List fazt servers",
    description: "The fazt nodes these tools can act on, with the default one marked. " +
      "Tokens are never shown.",
    scope: "read",
    annotations: READ,
    input: () => ({}),
    output: z.looseObject({
      servers: z.array(z.looseObject({
        name: z.string(),
        url: z.string(),
        is_default: z.boolean(),
        version: z.string().nullable(),
        last_seen_at: z.number().nullable(),
      })),
      count: z.number(),
    }),
    run(_args, host) {
      const servers = host.servers();
      return Promise.resolve({ servers, count: servers.length });
    },
  },
  {
    name: "fazt_apps_list",
    title: "List apps",
    description: "The apps hosted on a fazt node: live version, files, size, URL.",
    scope: "read",
    annotations: READ,
    input: (host) => withServer(host, {}),
    output: z.looseObject({ server: z.string(), apps: z.array(appRow), count: z.number() }),
    async run(args, host) {
      const node = nodeOf(args, host);
      const apps = await node.request<Api.AppSummary[]>("GET", "/api/apps");
      return { server: node.server, apps, count: apps.length };
    },
  },
  {
    name: "fazt_app_info",
    title: "Show an app",
    description: "One app with all its versions (drafts included) and which one is live.",
    scope: "read",
    annotations: READ,
    input: (host) => withServer(host, { app_name: appName }),
    output: z.looseObject({
      server: z.string(),
      app: appRow.extend({ versions: z.array(version) }),
    }),
    async run(args, host) {
      const node = nodeOf(args, host);
      const app = await node.request<Api.AppDetail>(
        "GET",
        `/api/apps/${enc(args.app_name as string)}`,
      );
      return { server: node.server, app };
    },
  },
  {
    name: "fazt_app_logs",
    title: "Read an app's logs",
    description: "The most recent log lines of an app's server code, oldest first.",
    scope: "read",
    annotations: READ,
    input: (host) =>
      withServer(host, {
        app_name: appName,
        limit: z.number().int().min(1).max(1000).optional().describe(
          "How many recent lines (default 50)",
        ),
      }),
    output: z.looseObject({
      server: z.string(),
      app: z.string(),
      logs: z.array(z.looseObject({
        id: z.number(),
        level: z.string(),
        message: z.string(),
        created_at: z.number(),
      })),
      count: z.number(),
    }),
    async run(args, host) {
      const node = nodeOf(args, host);
      const name = args.app_name as string;
      const limit = (args.limit as number | undefined) ?? 50;
      const logs = await node.request<Api.LogEntry[]>(
        "GET",
        `/api/apps/${enc(name)}/logs?limit=${limit}`,
      );
      return { server: node.server, app: name, logs, count: logs.length };
    },
  },
  {
    name: "fazt_system_status",
    title: "Node status",
    description: "Health of a fazt node: version (and whether it is compatible with this one), " +
      "OS, uptime, memory, database size, apps count.",
    scope: "read",
    annotations: READ,
    input: (host) => withServer(host, {}),
    output: z.looseObject({
      server: z.string(),
      url: z.string(),
      healthy: z.boolean(),
      version: z.string(),
      compatible: z.boolean(),
      uptime_s: z.number(),
      apps: z.number(),
    }),
    async run(args, host) {
      const node = nodeOf(args, host);
      const system = await node.request<Api.System>("GET", "/api/system");
      return {
        ...system,
        server: node.server,
        url: node.url,
        healthy: true,
        compatible: isCompatibleVersion(system.version, VERSION),
      };
    },
  },
  {
    name: "fazt_stats",
    title: "Traffic statistics",
    description: "Analytics of a node or one app: totals, a time series and top lists " +
      "(paths, referrers, browsers...), from GET /api/stats.",
    scope: "read",
    annotations: READ,
    input: (host) =>
      withServer(host, {
        app: z.string().min(1).max(253).optional().describe(
          "Only this app (or tracked domain); default: all",
        ),
        from: z.string().min(1).optional().describe(
          "Start: an ISO date or time, ms since the epoch, 'now', or a duration before now " +
            "like '7d' (default: 30 days, or 24 hours by hour)",
        ),
        to: z.string().min(1).optional().describe("End, in the same forms (default: now)"),
        interval: z.enum(["hour", "day"]).optional().describe(
          "Bucket size of the time series (default: day)",
        ),
      }),
    output: z.looseObject({
      server: z.string(),
      query: z.record(z.string(), z.string()),
      stats: z.unknown(),
    }),
    async run(args, host) {
      const node = nodeOf(args, host);
      const query: Record<string, string> = {};
      for (const key of ["app", "from", "to", "interval"]) {
        if (typeof args[key] === "string") query[key] = args[key] as string;
      }
      const qs = new URLSearchParams(query).toString();
      const stats = await node.request<Api.Stats>("GET", `/api/stats${qs ? `?${qs}` : ""}`);
      return { server: node.server, query, stats };
    },
  },
  {
    name: "fazt_deploy",
    title: "Deploy an app",
    description: "Deploys files as a new version of an app. It is a DRAFT unless promote is " +
      "true: look at preview_url, then make it live with fazt_app_promote. Give 'files' " +
      "(path → UTF-8 text, or {base64} for binary)" +
      " or, over stdio, 'path' (a local folder). Like every deploy it may drop the oldest " +
      "version beyond the node's max_versions.",
    scope: "deploy",
    annotations: {
      readOnlyHint: false,
      // Not only additive: the oldest version beyond max_versions is pruned.
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: false,
    },
    input: (host) => {
      const files = z.record(
        z.string(),
        z.union([z.string(), z.object({ base64: z.string() })]),
      ).describe('Relative path → content: a UTF-8 string, or {"base64": "..."} for bytes');
      const shape: Shape = {
        app_name: appName,
        // Required over HTTP; over stdio a folder 'path' may come instead.
        files: host.zipFolder ? files.optional() : files,
        promote: z.boolean().optional().describe(
          "Make the new version live at once (default false: a draft)",
        ),
      };
      if (host.zipFolder) {
        shape.path = z.string().min(1).optional().describe(
          "A local folder to deploy instead of 'files' (dotfiles and node_modules are skipped)",
        );
      }
      return withServer(host, shape);
    },
    output: z.looseObject({
      server: z.string(),
      app: z.string(),
      version: z.number(),
      files: z.number(),
      bytes: z.number(),
      live: z.boolean(),
      url: z.string(),
      preview_url: z.string(),
    }),
    async run(args, host) {
      const files = args.files as Record<string, FileContent> | undefined;
      const path = args.path as string | undefined;
      if ((files === undefined) === (path === undefined)) {
        throw new ToolError("VALIDATION_FAILED", "give either 'files' or 'path', not both", {
          field: "files",
          constraint: "one_of",
        });
      }
      let zip: Uint8Array;
      if (path !== undefined) {
        const folder = await host.zipFolder!(path);
        if (folder.files === 0) {
          throw new ToolError("EMPTY", `'${path}' has no files to deploy`);
        }
        zip = folder.zip;
      } else zip = await zipFiles(files!);
      const node = nodeOf(args, host);
      const query = new URLSearchParams({ name: args.app_name as string });
      if (args.promote !== true) query.set("draft", "1");
      const r = await node.request<Api.Deployed>("POST", `/api/deploy?${query}`, { zip });
      return { ...r, server: node.server };
    },
  },
  {
    name: "fazt_app_promote",
    title: "Make a version live",
    description: "Makes a version (usually a draft from fazt_deploy) the live one.",
    scope: "deploy",
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    },
    input: (host) =>
      withServer(host, {
        app_name: appName,
        version: z.number().int().min(1).describe("The version number to make live"),
      }),
    output: liveChange.extend({ url: z.string() }),
    async run(args, host) {
      const node = nodeOf(args, host);
      const r = await node.request<Api.Promoted>(
        "POST",
        `/api/apps/${enc(args.app_name as string)}/promote`,
        { json: { version: args.version } },
      );
      return { ...r, server: node.server };
    },
  },
  {
    name: "fazt_app_rollback",
    title: "Roll an app back",
    description: "Makes an earlier version live: the given one, or the one before the live one.",
    scope: "deploy",
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: false,
    },
    input: (host) =>
      withServer(host, {
        app_name: appName,
        version: z.number().int().min(1).optional().describe(
          "Version to make live (default: the one before the live one)",
        ),
      }),
    output: liveChange,
    async run(args, host) {
      const node = nodeOf(args, host);
      const body = args.version === undefined ? {} : { version: args.version };
      const r = await node.request<Api.LiveChanged>(
        "POST",
        `/api/apps/${enc(args.app_name as string)}/rollback`,
        { json: body },
      );
      return { ...r, server: node.server };
    },
  },
  {
    name: "fazt_app_delete",
    title: "Delete an app",
    description: "Deletes an app with ALL its versions and files. This cannot be undone.",
    scope: "admin",
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
      openWorldHint: false,
    },
    input: (host) => withServer(host, { app_name: appName }),
    output: z.looseObject({ server: z.string(), app: z.string(), deleted: z.boolean() }),
    async run(args, host) {
      const node = nodeOf(args, host);
      const r = await node.request<Api.AppDeleted>(
        "DELETE",
        `/api/apps/${enc(args.app_name as string)}`,
      );
      return { ...r, server: node.server };
    },
  },
  {
    name: "fazt_app_crons",
    title: "An app's scheduled jobs",
    description: "An app's scheduled jobs (manifest crons and Deno.cron in its code): schedule, " +
      "time zone, next run, whether one is running, the last run; and its newest runs with " +
      "outcome, duration, error and the lines the app logged.",
    scope: "read",
    annotations: READ,
    input: (host) =>
      withServer(host, {
        app_name: appName,
        limit: z.number().int().min(1).max(500).optional().describe(
          "How many recent runs (default 20)",
        ),
      }),
    output: z.looseObject({
      server: z.string(),
      app: z.string(),
      jobs: z.array(z.looseObject({
        name: z.string(),
        schedule: z.string(),
        source: z.string(),
        next_run: z.number().nullable(),
        running: z.boolean(),
      })),
      runs: z.array(cronRun),
    }),
    async run(args, host) {
      const node = nodeOf(args, host);
      const name = args.app_name as string;
      const limit = (args.limit as number | undefined) ?? 20;
      const list = await node.request<Api.CronList>(
        "GET",
        `/api/apps/${enc(name)}/crons?limit=${limit}`,
      );
      return { server: node.server, app: name, ...list };
    },
  },
  {
    name: "fazt_app_cron_run",
    title: "Run a scheduled job now",
    description: "Runs one of an app's scheduled jobs now and waits for it to end (its " +
      "schedule is unchanged). Refused with CRON_RUNNING while that job runs.",
    scope: "deploy",
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: false,
    },
    input: (host) =>
      withServer(host, {
        app_name: appName,
        job: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/).describe(
          "The job's name, as fazt_app_crons lists it",
        ),
      }),
    output: z.looseObject({ server: z.string(), app: z.string(), run: cronRun }),
    async run(args, host) {
      const node = nodeOf(args, host);
      const name = args.app_name as string;
      const run = await node.request<Api.CronRun>(
        "POST",
        `/api/apps/${enc(name)}/crons/${enc(args.job as string)}/run`,
        { json: {} },
      );
      return { server: node.server, app: name, run };
    },
  },
  {
    name: "fazt_app_domains",
    title: "An app's custom domains",
    description: "The custom domains an app is served on besides <app>.<domain>, each with " +
      "its HTTPS certificate's state (status, expiry, last error).",
    scope: "read",
    annotations: READ,
    input: (host) => withServer(host, { app_name: appName }),
    output: z.looseObject({
      server: z.string(),
      app: z.string(),
      domains: z.array(customDomain),
      count: z.number(),
    }),
    async run(args, host) {
      const node = nodeOf(args, host);
      const name = args.app_name as string;
      const domains = await node.request<Api.CustomDomain[]>(
        "GET",
        `/api/apps/${enc(name)}/domains`,
      );
      return { server: node.server, app: name, domains, count: domains.length };
    },
  },
  {
    name: "fazt_app_domain",
    title: "Add or remove a custom domain",
    description: "action 'add': the app is served on the domain from now on (point the " +
      "domain's DNS at the node; with HTTPS on, its certificate is requested at once). " +
      "action 'remove': it is no longer served there and its certificate is not renewed. " +
      "A domain serves one app; the node's own names cannot be added.",
    scope: "admin",
    annotations: {
      readOnlyHint: false,
      // 'remove' stops a domain from serving.
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: false,
    },
    input: (host) =>
      withServer(host, {
        app_name: appName,
        action: z.enum(["add", "remove"]).describe("'add' or 'remove'"),
        domain: domainName,
      }),
    output: z.looseObject({
      server: z.string(),
      app: z.string(),
      action: z.string(),
      domain: z.string(),
      changed: z.boolean(),
      certificate,
    }),
    async run(args, host) {
      const node = nodeOf(args, host);
      const app = args.app_name as string;
      const domain = args.domain as string;
      const path = `/api/apps/${enc(app)}/domains`;
      if (args.action === "remove") {
        const r = await node.request<Api.DomainRemoved>("DELETE", `${path}/${enc(domain)}`);
        return {
          server: node.server,
          app,
          action: "remove",
          domain: r.name,
          changed: true,
          certificate: null,
        };
      }
      const r = await node.request<Api.DomainAdded>("POST", path, { json: { name: domain } });
      return {
        server: node.server,
        app,
        action: "add",
        domain: r.domain.name,
        changed: r.created,
        certificate: r.domain.certificate,
      };
    },
  },
];

/** The tools a caller may use: all over stdio, those within the token's scope over HTTP. */
export function toolsFor(host: ToolHost): ToolDef[] {
  return TOOLS.filter((t) => host.scope === undefined || scopeAllows(host.scope, t.scope));
}
