import { ApiError, readEnvelope } from "../../lib/envelope.ts";
import type { ServerContext } from "../context.ts";
import { type ApiBody, type NodeApi, ToolError } from "./node_api.ts";

/**
 * This node's API called in-process for `/mcp`: each call is a request
 * through the admin host's route table carrying the MCP caller's own
 * `Authorization` (so every route's scope still applies) and `Host`.
 */
export function localApi(req: Request, ctx: ServerContext): NodeApi {
  const origin = new URL(req.url).origin;
  return {
    server: "local",
    url: origin,
    async request<T>(method: string, path: string, body?: ApiBody): Promise<T> {
      if (!path.startsWith("/api/")) throw new ToolError("NOT_FOUND", `No API route ${path}`);
      const headers = new Headers();
      for (const name of ["authorization", "host"]) {
        const value = req.headers.get(name);
        if (value) headers.set(name, value);
      }
      let payload: BodyInit | undefined;
      if (body && "zip" in body) {
        headers.set("content-type", "application/zip");
        payload = body.zip as Uint8Array<ArrayBuffer>;
      } else if (body) {
        headers.set("content-type", "application/json");
        payload = JSON.stringify(body.json);
      }
      const res = await ctx.dispatch(
        new Request(origin + path, { method, headers, body: payload }),
      );
      try {
        return await readEnvelope<T>(res);
      } catch (err) {
        if (err instanceof ApiError) throw new ToolError(err.code, err.message, err.details);
        throw err;
      }
    },
  };
}
