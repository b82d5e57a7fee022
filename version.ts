/** The program's version, reported by `/health`, `fazt --version` and peers. */
export const VERSION = "0.1.0";
