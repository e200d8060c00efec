/** Types of build-web.mjs for the TypeScript tests that build the storefront. */
export function buildWeb(outDir: string, options?: { minify?: boolean }): Promise<{ app: string; styles: string }>;
