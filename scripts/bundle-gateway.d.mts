/** Bundles `<dist>/src/main.js` into `<dist>/bundle/main.js` and its chunks (bundle-gateway.mjs). */
export function bundleGateway(dist: string): Promise<void>;
