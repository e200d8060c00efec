/**
 * Loads the independent signature vectors every implementation must pass: ../shared/ums/vectors.json
 * when the team's shared folder sits beside the checkout (CI), else the copy in test/fixtures.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Vector {
  id: string;
  kind: 'open-body-sig' | 'open-form-param' | 'token-request' | 'key-appended-sign' | 'notification';
  input: Record<string, unknown>;
  expected: Record<string, unknown>;
  contrast?: { body: string; expectedSignature: string };
}

const shared = fileURLToPath(new URL('../../../shared/ums/vectors.json', import.meta.url));
const path = existsSync(shared) ? shared : fileURLToPath(new URL('../fixtures/ums-vectors.json', import.meta.url));

export const vectors: Vector[] = (JSON.parse(readFileSync(path, 'utf8')) as { vectors: Vector[] }).vectors;

export function vectorsOf(kind: Vector['kind']): Vector[] {
  return vectors.filter((v) => v.kind === kind);
}
