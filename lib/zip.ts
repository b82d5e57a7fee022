/**
 * zip.js, loaded on first use: most runs of fazt (serving, most CLI
 * commands) never touch a ZIP, and the library costs ~8 MiB once loaded.
 * @module
 */
export type ZipJs = typeof import("@zip.js/zip.js");

let loading: Promise<ZipJs> | undefined;

export function loadZip(): Promise<ZipJs> {
  return loading ??= import("@zip.js/zip.js").then((zip) => {
    // Workers would need extra permissions and buy nothing for one archive.
    zip.configure({ useWebWorkers: false });
    return zip;
  });
}
