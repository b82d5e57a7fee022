import type { Route } from "./context.ts";
import { deleteApp, getApp, listApps, rollbackApp } from "./handlers/apps.ts";
import { appLogs, listEnv, putEnv } from "./handlers/app_runtime.ts";
import { deploy } from "./handlers/deploy.ts";
import { health, system } from "./handlers/system.ts";
import { createToken, listTokens, revokeToken } from "./handlers/tokens.ts";

/**
 * Every route of the admin host, with who may call it. Nothing is routed
 * anywhere else, and a test walks this table to prove each policy holds.
 */
export const ROUTES: readonly Route[] = [
  {
    method: "GET",
    path: "/health",
    auth: "public",
    summary: "Liveness, version, uptime",
    handler: health,
  },
  {
    method: "GET",
    path: "/api/system",
    auth: "read",
    summary: "Node facts: version, OS, memory, database",
    handler: system,
  },
  {
    method: "POST",
    path: "/api/deploy",
    auth: "deploy",
    summary: "Deploy a ZIP as a new version",
    handler: deploy,
  },
  { method: "GET", path: "/api/apps", auth: "read", summary: "List apps", handler: listApps },
  {
    method: "GET",
    path: "/api/apps/:name",
    auth: "read",
    summary: "One app with its versions",
    handler: getApp,
  },
  {
    method: "DELETE",
    path: "/api/apps/:name",
    auth: "admin",
    summary: "Delete an app and its versions",
    handler: deleteApp,
  },
  {
    method: "POST",
    path: "/api/apps/:name/rollback",
    auth: "deploy",
    summary: "Make an earlier version live",
    handler: rollbackApp,
  },
  {
    method: "GET",
    path: "/api/apps/:name/env",
    auth: "read",
    summary: "Names of an app's env vars (never values)",
    handler: listEnv,
  },
  {
    method: "PUT",
    path: "/api/apps/:name/env",
    auth: "admin",
    summary: "Set or remove an app's env vars",
    handler: putEnv,
  },
  {
    method: "GET",
    path: "/api/apps/:name/logs",
    auth: "read",
    summary: "An app's recent log lines",
    handler: appLogs,
  },
  {
    method: "GET",
    path: "/api/tokens",
    auth: "admin",
    summary: "List API tokens",
    handler: listTokens,
  },
  {
    method: "POST",
    path: "/api/tokens",
    auth: "admin",
    summary: "Create an API token",
    handler: createToken,
  },
  {
    method: "DELETE",
    path: "/api/tokens/:id",
    auth: "admin",
    summary: "Revoke an API token",
    handler: revokeToken,
  },
];
