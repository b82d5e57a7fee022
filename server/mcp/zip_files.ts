import { writeZip } from "../../lib/zip_writer.ts";
import { ToolError } from "./node_api.ts";

/** A file's content in `fazt_deploy`: UTF-8 text, or `{base64}` for bytes. */
export type FileContent = string | { base64: string };

function bytesOf(path: string, content: FileContent): Uint8Array {
  if (typeof content === "string") return new TextEncoder().encode(content);
  const b64 = content.base64.replace(/\s+/g, "");
  try {
    // Padded, as the check before it asked; the alphabet is the standard one.
    if (b64.length % 4 === 0) return Uint8Array.fromBase64(b64);
  } catch {
    // Not base64: refused below.
  }
  throw new ToolError("VALIDATION_FAILED", `files['${path}'].base64 is not valid base64`, {
    field: `files.${path}`,
    constraint: "base64",
  });
}

function pathProblem(path: string): string | undefined {
  if (path === "" || path.length > 1024) return "must be 1 to 1024 characters";
  if (path.startsWith("/") || path.includes("\\")) return "must be relative, with '/' separators";
  if (path.split("/").some((s) => s === "" || s === "." || s === "..")) {
    return "must not contain empty, '.' or '..' segments";
  }
  return undefined;
}

/** Zips a map of relative paths to contents in memory, for `POST /api/deploy`. */
export async function zipFiles(files: Record<string, FileContent>): Promise<Uint8Array> {
  const entries = Object.entries(files);
  if (entries.length === 0) {
    throw new ToolError("VALIDATION_FAILED", "files is empty: give at least one file", {
      field: "files",
      constraint: "required",
    });
  }
  return await writeZip(entries.map(([path, content]) => {
    const problem = pathProblem(path);
    if (problem) {
      throw new ToolError("VALIDATION_FAILED", `file path '${path}' ${problem}`, {
        field: "files",
        constraint: "path",
      });
    }
    return { path, data: bytesOf(path, content), compress: true };
  }));
}
