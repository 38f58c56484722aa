import { mkdir, readFile, rmdir, stat, writeFile } from "node:fs/promises";

/**
 * The file operations configfs-tsm collection needs. The default is node:fs; tests pass a fake
 * that plays the kernel's part on a temporary directory (populating attributes on mkdir,
 * bumping `generation` on writes), the way a clock is injected for time.
 */
export interface TsmFileSystem {
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  /** True when `path` exists and is a directory. */
  isDirectory(path: string): Promise<boolean>;
}

/** The real configfs, through node:fs. */
export const NODE_TSM_FILE_SYSTEM: TsmFileSystem = {
  async mkdir(path) {
    await mkdir(path);
  },
  async rmdir(path) {
    // configfs entries are removed with rmdir even though they list attribute files.
    await rmdir(path);
  },
  async writeFile(path, data) {
    await writeFile(path, data);
  },
  async readFile(path) {
    return new Uint8Array(await readFile(path));
  },
  async isDirectory(path) {
    try {
      return (await stat(path)).isDirectory();
    } catch {
      return false;
    }
  },
};
