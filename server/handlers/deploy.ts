import { APP_NAME_RULE, appNameProblem } from "../../lib/app_name.ts";
import { readBody } from "../../lib/read_body.ts";
import type { RouteContext } from "../context.ts";
import { deployArchive } from "../deployer.ts";
import { appUrl } from "../hosts.ts";
import { HttpError } from "../http_error.ts";
import { requestHost } from "../request_host.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

/** Checks an app name; `blog.example.com` is accepted as `blog`. */
export function normalizeAppName(raw: unknown, domain: string, field = "name"): string {
  if (typeof raw !== "string" || raw.trim() === "") {
    throw HttpError.validation(field, "required", `${field} is required`);
  }
  let name = raw.trim().toLowerCase();
  if (name.endsWith(`.${domain}`)) name = name.slice(0, -domain.length - 1);
  const problem = appNameProblem(name);
  if (problem) throw HttpError.validation(field, problem, `Invalid app name: ${APP_NAME_RULE}`);
  return name;
}

/** The app name and ZIP bytes of a deploy request, in either accepted shape. */
async function deployInput(
  c: RouteContext,
): Promise<{ name: string; zip: Uint8Array; field: string }> {
  const { req, url, server } = c;
  const type = (req.headers.get("content-type") ?? "").toLowerCase();
  const max = server.settings.max_upload_bytes;
  if (type.startsWith("multipart/form-data")) {
    // Multipart adds a little framing around the file.
    const body = await readBody(req, max + 64 * 1024);
    let form: FormData;
    try {
      // The original header: a multipart boundary is case-sensitive (browsers mix case).
      const header = req.headers.get("content-type")!;
      form = await new Response(body, { headers: { "content-type": header } }).formData();
    } catch {
      throw new HttpError(400, "BAD_REQUEST", "The multipart body could not be read");
    }
    const file = form.get("file");
    if (!(file instanceof File)) {
      throw HttpError.validation("file", "required", "file (a ZIP archive) is required");
    }
    const name = form.get("site_name") ?? form.get("name");
    return {
      name: String(name ?? ""),
      zip: new Uint8Array(await file.arrayBuffer()),
      field: "site_name",
    };
  }
  if (type.startsWith("application/zip") || type.startsWith("application/octet-stream")) {
    return {
      name: url.searchParams.get("name") ?? "",
      zip: await readBody(req, max),
      field: "name",
    };
  }
  throw new HttpError(
    415,
    "UNSUPPORTED_MEDIA_TYPE",
    "Send multipart/form-data (site_name, file) or an application/zip body with ?name=",
  );
}

/** `POST /api/deploy` */
export async function deploy(c: RouteContext): Promise<Answer<Api.Deployed>> {
  const input = await deployInput(c);
  const domain = c.server.settings.domain;
  const name = normalizeAppName(input.name, domain, input.field);
  const draft = ["1", "true"].includes(c.url.searchParams.get("draft") ?? "");
  const outcome = await deployArchive(c.server, name, input.zip, {
    deployedBy: c.principal?.token.name,
    draft,
  });
  const url = appUrl(name, c.url, requestHost(c.req), domain);
  // The version's own host: where a draft can be looked at before it is promoted.
  const preview_url = appUrl(
    `${name}--v${outcome.version}`,
    c.url,
    requestHost(c.req),
    domain,
  );
  return json({ ...outcome, url, preview_url }, 201);
}
