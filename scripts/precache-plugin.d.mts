import type { Plugin } from "vite";
/** The page's source folder (Vite's root), as an absolute path. */
export const WWW: string;
/** Every file of the built site but sw.js, and a version made from their contents. */
export function buildList(dist: string): { version: string; files: string[] };
/** Writes buildList(www/dist) into dist/sw.js after the build. */
export function precachePlugin(): Plugin;
/** Checks the entries `names` stand alone and wraps each in a function (classic scripts). */
export function classicScripts(names: string[]): Plugin;
