/**
 * What one document may cost: tokens and bracket nesting (checked before parsing), then depth,
 * aliases, cost and root mutation fields, as one validation rule.
 *
 * Tokens bound validation: graphql-js's OverlappingFieldsCanBeMerged compares same-named fields
 * pairwise, so its work grows with the square of the document. At 2,000 tokens the worst we found
 * (`{ payments { edges { node { status } } } … }` 196 times) validates in about 0.2 s on a busy
 * 2-core machine; at 5,000 tokens it took 0.9 s. Real documents are far below: the typed client's
 * largest operation (src/graphql/client/operations.graphql, with its fragment) is 74 tokens and
 * 486 characters, the whole file 282 tokens, Sandbox's introspection query 184 tokens (2 KB).
 *
 * graphql-js's parser is recursive: a list literal nested about 1,700 deep overflows the stack.
 * So before anything parses a document, `documentShapeError` reads its tokens once, linearly,
 * and refuses more than `maxTokens` tokens or brackets (`{ [ (`) nested deeper than `maxNesting`,
 * whatever `maxTokens` is set to; the parser keeps its own `maxTokens` too. The rule then refuses
 * fields nested deeper than `maxDepth`.
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
  Lexer,
  Source,
  TokenKind,
  OperationTypeNode,
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
  /** Lexical tokens the parser reads before giving up. */
  maxTokens: number;
  /** Brackets of any kind (selection sets, lists, input objects) open at once. */
  maxNesting: number;
  /** Root fields of one mutation operation: each may be a UMS call. */
  maxMutationFields: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 16, maxAliases: 30, maxCost: 5000, assumedPageSize: 100, maxTokens: 2000, maxNesting: 64, maxMutationFields: 10 };

/**
 * The largest `POST /graphql` body (and WebSocket message) accepted: 64 KiB, over 100 times the
 * largest request the typed client sends (its biggest document is under 0.5 KB; variables of a
 * createPayment are a few hundred bytes), yet small enough that parsing anything this size stays
 * well within the CPU budget.
 */
export const GRAPHQL_BODY_LIMIT = 64 * 1024;

export function parseOptions(limits: QueryLimits): { maxTokens: number } {
  return { maxTokens: limits.maxTokens };
}

const OPENING = new Set<TokenKind>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING = new Set<TokenKind>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * Why `text` must not be parsed (too many tokens, or nested too deep), or undefined. One pass over the tokens, no recursion: the work is linear in the text.
 */
export function documentShapeError(text: string, limits: QueryLimits): GraphQLError | undefined {
  const lexer = new Lexer(new Source(text));
  let tokens = 0;
  let nesting = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (++tokens > limits.maxTokens) {
        return new GraphQLError(`Syntax Error: Document contains more than ${limits.maxTokens} tokens. Parsing aborted.`, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
      }
      if (OPENING.has(token.kind) && ++nesting > limits.maxNesting) {
        return new GraphQLError(`Syntax Error: Document nests brackets more than ${limits.maxNesting} deep. Parsing aborted.`, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
      }
      if (CLOSING.has(token.kind)) nesting -= 1;
    }
  } catch (err) {
    // A lexical error: the parser meets it too, within the bounds checked so far, and reports it
    // with its location.
    if (err instanceof GraphQLError) return undefined;
    throw err;
  }
  return undefined;
}

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
        // Every selection visited counts, spreads included: a chain of fragments that each spread
        // the next twice would otherwise double the work per level without adding a field.
        const tooMuch = () => new LimitExceeded(`${name} is too expensive (cost over ${limits.maxCost}); ask for fewer fields or smaller pages`);
        const walk = (selectionSet: SelectionSetNode, depth: number, inFragments: ReadonlySet<string>): number => {
          let cost = 0;
          for (const selection of selectionSet.selections) {
            if (++visited > limits.maxCost) throw tooMuch();
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
            if (cost > limits.maxCost) throw tooMuch();
          }
          return cost;
        };

        let rootSteps = 0;
        const rootFields = (selectionSet: SelectionSetNode, inFragments: ReadonlySet<string>): number => {
          let count = 0;
          for (const selection of selectionSet.selections) {
            if (++rootSteps > limits.maxCost) throw tooMuch();
            if (selection.kind === Kind.FIELD) count += 1;
            else if (selection.kind === Kind.INLINE_FRAGMENT) count += rootFields(selection.selectionSet, inFragments);
            else {
              const fragment = fragments.get(selection.name.value);
              if (fragment && !inFragments.has(selection.name.value)) count += rootFields(fragment.selectionSet, new Set([...inFragments, selection.name.value]));
            }
            if (count > limits.maxMutationFields) {
              throw new LimitExceeded(`${name} has more than ${limits.maxMutationFields} mutation fields; send fewer in one document`);
            }
          }
          return count;
        };

        try {
          if (operation.operation === OperationTypeNode.MUTATION) rootFields(operation.selectionSet, new Set());
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
