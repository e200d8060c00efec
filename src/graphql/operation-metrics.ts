/**
 * Records every GraphQL operation in `graphql_operation_duration_seconds` by name, type and
 * outcome. Operation names come from clients, so they are checked and capped: at most
 * MAX_NAMES distinct names are ever used as labels, later ones count as `other`.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { Metrics } from '../metrics.js';

const MAX_NAMES = 200;

export type Outcome = 'success' | 'error' | 'invalid';

export class OperationRecorder {
  readonly #names = new Set<string>();
  constructor(private readonly metrics: Metrics) {}

  label(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (!/^[_A-Za-z][_0-9A-Za-z]{0,63}$/.test(name)) return 'other';
    if (this.#names.has(name)) return name;
    if (this.#names.size >= MAX_NAMES) return 'other';
    this.#names.add(name);
    return name;
  }

  record(name: string | null | undefined, type: string, outcome: Outcome, seconds: number): void {
    this.metrics.graphqlOperations.observe({ operation: this.label(name), type, outcome }, seconds);
  }
}

export function operationMetricsPlugin(recorder: OperationRecorder): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      let outcome: Outcome = 'success';
      return {
        async didEncounterErrors(rc) {
          // No operation resolved: the document did not parse or validate.
          outcome = rc.operation ? 'error' : 'invalid';
        },
        async willSendResponse(rc) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          recorder.record(rc.operationName ?? rc.operation?.name?.value, rc.operation?.operation ?? 'unknown', outcome, seconds);
        },
      };
    },
  };
}
