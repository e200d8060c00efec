/**
 * What graphql-ws may run: subscriptions only, parsed and validated with the same rules as HTTP,
 * and refused with the error codes HTTP (Apollo) gives.
 *
 * Queries and mutations belong on HTTP POST /graphql: that is where the Idempotency-Key header,
 * the HTTP limits and the shutdown draining apply. graphql-ws would otherwise execute any
 * operation type it is sent.
 */
import { GraphQLError, getOperationAST, parse, validate, type DocumentNode, type GraphQLSchema, type ParseOptions, type ValidationRule } from 'graphql';
import { LRUCache } from 'lru-cache';

export interface AdmissionOptions {
  schema: GraphQLSchema;
  rules: readonly ValidationRule[];
  /** Token limit and the like (limits.ts parseOptions). */
  parseOptions?: ParseOptions;
  /** Checked before parsing (limits.ts documentShapeError): too many tokens, or nested too deep. */
  shapeError?: (query: string) => GraphQLError | undefined;
  /**
   * When false (production: no Sandbox, no introspection), validation leaves out its
   * "Did you mean …?" hints, as HTTP does: graphql-js never writes them, so nothing is cut out
   * of a message afterwards.
   */
  schemaDetails: boolean;
  /** Total length of the query texts kept (default 1 MiB). */
  maxKnownBytes?: number;
}

export interface AdmittedOperation {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName: string | null | undefined;
  variableValues: Record<string, unknown> | null | undefined;
}

export interface OperationRequest {
  readonly query: string;
  readonly operationName?: string | null | undefined;
  readonly variables?: Record<string, unknown> | null | undefined;
}

/** Longer texts are parsed and validated every time, and not kept. */
export const MAX_KNOWN_QUERY_LENGTH = 16 * 1024;
const MAX_KNOWN_DOCUMENTS = 500;

/** A copy of `error` with `code`, unless it carries one already. */
function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code: error.extensions.code ?? code },
  });
}

/**
 * Admission for one schema and one rule set (one per GraphQL room). It keeps the documents it has
 * already parsed and validated, by query text: a dashboard's tabs all send the same subscription,
 * and the same document object lets them share each change's execution (shared-execution.ts).
 * Bounded in count and in total text length (a 1 MiB text of comments is valid; 500 of them must
 * not stay in memory), least recently used forgotten first.
 */
export class OperationAdmission {
  readonly #known: LRUCache<string, DocumentNode>;

  constructor(private readonly options: AdmissionOptions) {
    this.#known = new LRUCache<string, DocumentNode>({
      max: MAX_KNOWN_DOCUMENTS,
      maxSize: options.maxKnownBytes ?? 1024 * 1024,
      maxEntrySize: MAX_KNOWN_QUERY_LENGTH,
      sizeCalculation: (_document, query) => Math.max(1, query.length),
    });
  }

  get schema(): GraphQLSchema {
    return this.options.schema;
  }

  /** The execution arguments for a subscription, or the errors to send back instead. */
  admit(request: OperationRequest): AdmittedOperation | readonly GraphQLError[] {
    const { schema } = this.options;
    let document = this.#known.get(request.query);
    if (!document) {
      const shape = this.options.shapeError?.(request.query);
      if (shape) return [shape];
      try {
        document = parse(request.query, this.options.parseOptions);
      } catch (err) {
        // A syntax error is the client's; anything else is ours and reaches graphql-ws as a failure.
        if (err instanceof GraphQLError) return [withCode(err, 'GRAPHQL_PARSE_FAILED')];
        throw err;
      }
      const invalid = validate(schema, document, this.options.rules, { hideSuggestions: !this.options.schemaDetails });
      if (invalid.length > 0) return invalid.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED'));
      // Texts over MAX_KNOWN_QUERY_LENGTH are not kept (maxEntrySize).
      this.#known.set(request.query, document);
    }
    const operation = getOperationAST(document, request.operationName);
    if (!operation) {
      return [new GraphQLError('Could not tell which operation to run: name one with operationName', { extensions: { code: 'BAD_REQUEST' } })];
    }
    if (operation.operation !== 'subscription') {
      return [
        new GraphQLError(`Only subscriptions are served over the WebSocket; send ${operation.operation === 'mutation' ? 'mutations' : 'queries'} with HTTP POST /graphql`, {
          nodes: [operation],
          extensions: { code: 'BAD_REQUEST' },
        }),
      ];
    }
    return { schema, document, operationName: request.operationName, variableValues: request.variables };
  }
}
