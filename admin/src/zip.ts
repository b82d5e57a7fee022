/** Turning what the owner drops (a ZIP, a folder, loose files) into one ZIP to deploy. */
/**
 * zip.js, loaded only when a folder is zipped (most pages never need it). No
 * Web Workers: the page's CSP allows scripts from itself only, and the
 * browser's own CompressionStream does the deflating.
 */
async function zipJs() {
  const zip = await import("@zip.js/zip.js/lib/zip-core-native.js");
  zip.configure({ useWebWorkers: false });
  return zip;
}

export interface PickedFile {
  /** Path inside the site, with `/` separators. */
  path: string;
  file: File;
}

/** What was dropped or picked: either a ready ZIP or a set of files. */
export type Picked =
  | { kind: "zip"; file: File; suggestedName: string }
  | { kind: "files"; files: PickedFile[]; suggestedName: string };

const SKIP = /(^|\/)(\.DS_Store|Thumbs\.db|__MACOSX|\.git)(\/|$)/;

/** An app name from a file or folder name: lower case letters, digits and dashes. */
export function suggestName(raw: string): string {
  return raw.replace(/\.zip$/i, "").toLowerCase().replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 63);
}

function readEntries(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  return new Promise((resolve, reject) => {
    // readEntries returns at most ~100 entries per call: read until empty.
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, prefix: string, out: PickedFile[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (SKIP.test(path)) return;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) =>
      (entry as FileSystemFileEntry).file(resolve, reject)
    );
    out.push({ path, file });
  } else if (entry.isDirectory) {
    for (const child of await readEntries(entry as FileSystemDirectoryEntry)) {
      await walk(child, path, out);
    }
  }
}

/** Strips a single top folder shared by every path (`site/index.html` → `index.html`). */
function stripTop(files: PickedFile[]): { files: PickedFile[]; top?: string } {
  const tops = new Set(files.map((f) => f.path.split("/")[0]));
  if (tops.size !== 1 || files.some((f) => !f.path.includes("/"))) return { files };
  const [top] = tops;
  return { files: files.map((f) => ({ ...f, path: f.path.slice(top.length + 1) })), top };
}

/** Reads a drop: a single .zip, or folders and files (walked recursively). */
export async function fromDataTransfer(dt: DataTransfer): Promise<Picked | undefined> {
  const entries = Array.from(dt.items)
    .map((i) => i.kind === "file" ? i.webkitGetAsEntry?.() : null)
    .filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 1 && entries[0].isFile && /\.zip$/i.test(entries[0].name)) {
    const file = dt.files[0];
    return { kind: "zip", file, suggestedName: suggestName(file.name) };
  }
  if (entries.length === 0) return fromFiles(dt.files);
  const files: PickedFile[] = [];
  for (const e of entries) await walk(e, "", files);
  const stripped = stripTop(files);
  const name = stripped.top ?? (entries.length === 1 ? entries[0].name : "");
  return files.length
    ? { kind: "files", files: stripped.files, suggestedName: suggestName(name) }
    : undefined;
}

/** Reads an <input type=file> selection (a .zip, or a folder via webkitdirectory). */
export function fromFiles(list: FileList | null): Picked | undefined {
  if (!list || list.length === 0) return undefined;
  if (list.length === 1 && /\.zip$/i.test(list[0].name)) {
    return { kind: "zip", file: list[0], suggestedName: suggestName(list[0].name) };
  }
  const files = Array.from(list)
    .map((file) => ({ path: file.webkitRelativePath || file.name, file }))
    .filter((f) => !SKIP.test(f.path));
  const stripped = stripTop(files);
  return {
    kind: "files",
    files: stripped.files,
    suggestedName: suggestName(stripped.top ?? ""),
  };
}

/** Zips files in the browser, reporting progress from 0 to 1. */
export async function zipFiles(
  files: PickedFile[],
  onProgress: (fraction: number) => void,
): Promise<Blob> {
  const { BlobReader, BlobWriter, ZipWriter } = await zipJs();
  const writer = new ZipWriter(new BlobWriter("application/zip"), { useUnicodeFileNames: true });
  const total = files.reduce((n, f) => n + f.file.size, 0) || 1;
  let done = 0;
  for (const f of files) {
    await writer.add(f.path, new BlobReader(f.file), { level: 6 });
    done += f.file.size;
    onProgress(done / total);
  }
  return await writer.close();
}
