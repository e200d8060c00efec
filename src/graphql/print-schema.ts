/**
 * Prints the simulator-mode schema (the full one, with simulatePayment) to stdout or to the file
 * named by the first argument. `npm run codegen` writes schema.graphql with it.
 */
import { writeFileSync } from 'node:fs';
import { buildGatewaySchema, printGatewaySchema } from './schema.js';

const sdl = printGatewaySchema(await buildGatewaySchema({ simulatorMode: true }));
const target = process.argv[2];
if (target) writeFileSync(target, sdl);
else process.stdout.write(sdl);
