/**
 * What graphql-ws may run: subscriptions only, parsed and validated with the same rules as HTTP,
 * and refused with the error codes HTTP (Apollo) gives.
 *
 * Queries and mutations belong on HTTP POST /graphql: that is where the Idempotency-Key header,
 * the HTTP limits and the shutdown draining apply. graphql-ws would otherwise execute any
 * operation type it is sent.
 */
import { GraphQLError, getOperationAST, parse, validate, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';

export interface AdmissionOptions {
  schema: GraphQLSchema;
  rules: readonly ValidationRule[];
  /** When false (production: no Sandbox, no introspection), "Did you mean …?" hints are removed, as Apollo does. */
  schemaDetails: boolean;
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

/**
 * Documents already parsed and validated, by query text, per schema and rule set (one of each per
 * server): a dashboard's tabs all send the same subscription, and the same document object lets
 * them share each change's execution (shared-execution.ts). Bounded in count and in size (a
 * 1 MiB text of comments is valid; 500 of them must not stay in memory), least recently used
 * forgotten first.
 */
const knownDocuments = new WeakMap<GraphQLSchema, WeakMap<readonly ValidationRule[], Map<string, DocumentNode>>>();
const MAX_KNOWN_DOCUMENTS = 500;
/** Longer texts are parsed and validated every time, and not kept. */
const MAX_KNOWN_QUERY_LENGTH = 16 * 1024;

function validDocuments(options: AdmissionOptions): Map<string, DocumentNode> {
  let bySchema = knownDocuments.get(options.schema);
  if (!bySchema) knownDocuments.set(options.schema, (bySchema = new WeakMap()));
  let known = bySchema.get(options.rules);
  if (!known) bySchema.set(options.rules, (known = new Map()));
  return known;
}

function remember(known: Map<string, DocumentNode>, query: string, document: DocumentNode): void {
  if (query.length > MAX_KNOWN_QUERY_LENGTH) return;
  if (known.size >= MAX_KNOWN_DOCUMENTS) known.delete(known.keys().next().value as string);
  known.set(query, document);
}

/** The same pattern as Apollo's DisableSuggestions plugin. */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

/** A copy of `error` with `code` (unless it carries one already) and, when asked, no suggestions. */
function withCode(error: GraphQLError, code: string, schemaDetails: boolean): GraphQLError {
  return new GraphQLError(schemaDetails ? error.message : error.message.replace(SUGGESTION, ''), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code: error.extensions.code ?? code },
  });
}

/** The execution arguments for a subscription, or the errors to send back instead. */
export function admitOperation(request: OperationRequest, options: AdmissionOptions): AdmittedOperation | readonly GraphQLError[] {
  const known = validDocuments(options);
  let document = known.get(request.query);
  if (document) {
    // Most recently used last: what is in use is never the oldest.
    known.delete(request.query);
    known.set(request.query, document);
  } else {
    try {
      document = parse(request.query);
    } catch (err) {
      // A syntax error is the client's; anything else is ours and reaches graphql-ws as a failure.
      if (err instanceof GraphQLError) return [withCode(err, 'GRAPHQL_PARSE_FAILED', options.schemaDetails)];
      throw err;
    }
    const invalid = validate(options.schema, document, options.rules);
    if (invalid.length > 0) return invalid.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED', options.schemaDetails));
    remember(known, request.query, document);
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
  return { schema: options.schema, document, operationName: request.operationName, variableValues: request.variables };
}
