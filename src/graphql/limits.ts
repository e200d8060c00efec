/**
 * Query limits: depth, aliases and cost, as one validation rule.
 *
 * Introspection fields count like any other: a `__type { ofType { ofType … } }` chain is as deep
 * as it looks. The limits leave room for the standard introspection query (graphql-js and Apollo
 * Sandbox: depth 14, a few hundred fields) and refuse anything deeper or larger.
 *
 * Fragments are expanded where they are spread; the walk stops at the first limit exceeded and
 * never follows a fragment into itself, so a hostile document cannot make the rule itself slow
 * (NoFragmentCycles reports cycles; this rule runs alongside it and must survive them).
 */
import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

export interface QueryLimits {
  /** Nested field levels, counting the root field as 1. */
  maxDepth: number;
  /** Aliased fields in one operation. */
  maxAliases: number;
  /** Every field costs 1; the fields under a list argument `first: n` cost n times. */
  maxCost: number;
  /** The page size assumed when `first` is a variable (validation cannot see variable values). */
  assumedPageSize: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 16, maxAliases: 30, maxCost: 5000, assumedPageSize: 100 };

class LimitExceeded extends Error {}

export function queryLimitsRule(limits: QueryLimits = DEFAULT_LIMITS): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }

    return {
      OperationDefinition(operation) {
        let aliases = 0;
        let visited = 0;
        const name = operation.name ? `"${operation.name.value}"` : 'the operation';

        const pageSize = (field: FieldNode): number => {
          const first = field.arguments?.find((arg) => arg.name.value === 'first');
          if (!first) return 1;
          if (first.value.kind === Kind.INT) return Math.max(1, Number(first.value.value));
          return limits.assumedPageSize;
        };

        // Returns the cost of a selection set at `depth` (its fields are at depth + 1).
        const walk = (selectionSet: SelectionSetNode, depth: number, inFragments: ReadonlySet<string>): number => {
          let cost = 0;
          for (const selection of selectionSet.selections) {
            if (selection.kind === Kind.FIELD) {
              const fieldDepth = depth + 1;
              if (fieldDepth > limits.maxDepth) {
                throw new LimitExceeded(`${name} is nested ${fieldDepth} levels deep; the limit is ${limits.maxDepth}`);
              }
              if (selection.alias) {
                aliases += 1;
                if (aliases > limits.maxAliases) {
                  throw new LimitExceeded(`${name} uses more than ${limits.maxAliases} aliases`);
                }
              }
              visited += 1;
              const children = selection.selectionSet ? walk(selection.selectionSet, fieldDepth, inFragments) : 0;
              cost += 1 + pageSize(selection) * children;
            } else if (selection.kind === Kind.INLINE_FRAGMENT) {
              cost += walk(selection.selectionSet, depth, inFragments);
            } else {
              const fragmentName = selection.name.value;
              const fragment = fragments.get(fragmentName);
              // Unknown fragments and cycles are reported by the standard rules.
              if (!fragment || inFragments.has(fragmentName)) continue;
              cost += walk(fragment.selectionSet, depth, new Set([...inFragments, fragmentName]));
            }
            if (cost > limits.maxCost || visited > limits.maxCost) {
              throw new LimitExceeded(`${name} is too expensive (cost over ${limits.maxCost}); ask for fewer fields or smaller pages`);
            }
          }
          return cost;
        };

        try {
          walk(operation.selectionSet, 0, new Set());
        } catch (err) {
          if (!(err instanceof LimitExceeded)) throw err;
          context.reportError(new GraphQLError(err.message, { nodes: [operation], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
        }
        return false; // nothing below needs this rule
      },
    };
  };
}
