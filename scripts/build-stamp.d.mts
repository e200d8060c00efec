/** Types of build-stamp.mjs for its tests. */
export interface InputStat {
  path: string;
  size: number;
  mtimeMs: number;
}
export interface Stamp {
  hash: string;
  files: Record<string, [number, number]>;
}
export const INPUTS: string[];
export const RACY_MS: number;
export function inputStats(root: string, inputs?: readonly string[]): InputStat[];
export function contentHash(root: string, stats: readonly InputStat[]): string;
export function readStamp(stampFile: string): Stamp | undefined;
export function stampFor(hash: string, stats: readonly InputStat[], statAt: number): Stamp;
export function writeStamp(stampFile: string, stamp: Stamp): void;
export function statsMatch(stamp: Stamp | undefined, stats: readonly InputStat[]): boolean;
export function checkBuild(
  root: string,
  stampFile: string,
  inputs?: readonly string[],
): { current: boolean; hash: string; stats: InputStat[]; statAt: number };
