/**
 * A shorter road for the commonest request: a query document this room has seen before, asked
 * for again with other variables (a checkout page polling `payment(merOrderId)`, the typed
 * client's documents). Apollo's pipeline costs about as much CPU per request as the whole bare
 * request (bench/README.md, "GraphQL payment(merOrderId)"): hashing the text for its document
 * cache, content negotiation, a copy of the context, five plugin hooks, header maps; then
 * graphql-js's execution walks the document again on every request. Here a known text maps
 * straight to its parsed, validated document, compiled by graphql-jit on its second use, and
 * runs against the same schema and resolvers with the same context (caller, visibility, loaders).
 *
 * Only the plain success is answered here; everything else goes to Apollo, unchanged:
 * - documents that do not parse or validate (with the room's rules: limits, introspection),
 *   mutations, subscriptions, documents with several root fields (the quota charges each one:
 *   caller-limits.ts; one was charged at the door), an operation name that names nothing;
 * - an `Accept` header whose answer is not one of the few below (Apollo negotiates the rest);
 * - any execution with errors: the query is read-only, so Apollo runs it again and formats,
 *   masks and records its errors as it always does (error masking stays in one place).
 *
 * Each document is checked once, on first sight, against the rules Apollo uses (the room passes
 * the same list), and kept in a bounded LRU by its text; a text that is not for this road is
 * remembered too, so Apollo alone handles it from then on and nothing is validated twice.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  execute,
  getOperationAST,
  type GraphQLError,
  Kind,
  OperationTypeNode,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';
import { rootFieldCount } from './caller-limits.js';
import type { OperationRecorder } from './operation-metrics.js';

export interface FastQueryOptions {
  schema: GraphQLSchema;
  /** Exactly what Apollo validates with (graphql-js's specified rules and the room's own). */
  rules: readonly ValidationRule[];
  parseOptions?: ParseOptions;
  /** limits.ts documentShapeError: checked before parsing a text seen for the first time. */
  shapeError: (query: string) => GraphQLError | undefined;
  /** As Apollo's validationOptions: no "Did you mean" hints without Sandbox. */
  hideSuggestions: boolean;
  /** Total length of the texts kept (default 1 MiB); at most 500 texts. */
  maxKnownBytes?: number;
}

/** A known text's verdict: run it here, or leave it to Apollo. */
type Known =
  | {
      readonly road: 'fast';
      readonly document: DocumentNode;
      readonly operation: OperationDefinitionNode;
      /**
       * graphql-jit's compiled form, made on the document's second use once a first one was
       * answered here (a stream of documents each sent once, or requests that fail, unauthenticated
       * ones among them, never make the server compile); 'none' where it cannot compile it. Until
       * then, and for 'none', graphql-js runs it.
       */
      compiled: CompiledQuery | 'none' | undefined;
      /** Answers given with it (successful executions). */
      uses: number;
    }
  | { readonly road: 'apollo' };

const APOLLO: Known = { road: 'apollo' };

/** Longer texts are never kept: a client sending one pays for it every time, on Apollo's road. */
export const MAX_FAST_QUERY_LENGTH = 16 * 1024;

/**
 * What a compiled document is counted as in the cache's size limit, over its text: an estimate
 * (graphql-jit's functions and closures are far larger than the text; 500 compiled payment
 * documents measured some 135 MB with their ASTs). It bounds their number: 64 in the default 1 MiB.
 */
const COMPILED_SIZE = 16 * 1024;

/**
 * Apollo's answer to the `Accept` headers real clients send (its chooseContentTypeForSingleResultResponse):
 * none (autocannon, curl), graphql-ws-era clients, the typed client. Any other header: Apollo.
 */
const JSON_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json; charset=utf-8';
const CONTENT_TYPES = new Map<string | undefined, string>([
  [undefined, JSON_TYPE],
  ['', JSON_TYPE],
  ['*/*', JSON_TYPE],
  ['application/json', JSON_TYPE],
  ['application/graphql-response+json', GRAPHQL_RESPONSE_TYPE],
  ['application/graphql-response+json, application/json', GRAPHQL_RESPONSE_TYPE],
  ['application/json, application/graphql-response+json', JSON_TYPE],
]);

/** What one request asks (the parsed JSON body of a POST). */
export interface FastRequest {
  readonly body: unknown;
  readonly accept: string | undefined;
}

/** A ready answer: status 200, this content type, this body (what Apollo would have sent). */
export interface FastAnswer {
  readonly contentType: string;
  readonly body: string;
  /** The operation's name for the metrics, as Apollo's plugin records it. */
  readonly operationName: string | undefined;
}

export class FastQueries {
  readonly #known: LRUCache<string, Known>;

  constructor(private readonly options: FastQueryOptions) {
    this.#known = new LRUCache<string, Known>({
      max: 500,
      maxSize: options.maxKnownBytes ?? 1024 * 1024,
      maxEntrySize: MAX_FAST_QUERY_LENGTH + COMPILED_SIZE,
      sizeCalculation: (known, query) => Math.max(1, query.length) + (known.road === 'fast' && known.compiled !== undefined && known.compiled !== 'none' ? COMPILED_SIZE : 0),
    });
  }

  /** True when `query` was checked before (its shape too): the door need not lex it again. */
  known(query: string): boolean {
    return this.#known.has(query);
  }

  /**
   * The answer to `request` when it is for this road and ran without errors; undefined: hand it
   * to Apollo. `context` is built only when the document is for this road.
   */
  async run(request: FastRequest, context: () => Promise<object>): Promise<FastAnswer | undefined> {
    const contentType = CONTENT_TYPES.get(request.accept);
    if (contentType === undefined) return undefined;
    const fields = requestFields(request.body);
    if (!fields) return undefined;
    const known = this.#admit(fields.query);
    if (known.road !== 'fast') return undefined;
    const { document, operation } = known;
    if (known.uses === 1 && known.compiled === undefined) {
      known.compiled = compile(this.options.schema, document);
      // Set again: the cache weighs it anew with its compiled form (sizeCalculation).
      this.#known.set(fields.query, known);
    }
    const { compiled } = known;
    // The operation Apollo would pick: named ones must match, an unnamed request needs one operation.
    if (fields.operationName !== undefined && operation.name?.value !== fields.operationName) return undefined;
    const contextValue = await context();
    let result: ExecutionResult;
    try {
      result = compiled !== undefined && compiled !== 'none'
        ? await compiled.query(undefined, contextValue, fields.variables)
        : await execute({ schema: this.options.schema, document, variableValues: fields.variables, contextValue });
    } catch {
      return undefined;
    }
    if (result.errors !== undefined || result.data === undefined || result.data === null) return undefined;
    known.uses += 1;
    // Apollo's prettyJSONStringify of { errors, data, extensions }: the undefined ones drop out.
    return { contentType, body: `${JSON.stringify({ data: result.data })}\n`, operationName: fields.operationName ?? operation.name?.value };
  }

  #admit(query: string): Known {
    // Too long to keep: checking it here would repeat on every request, and Apollo checks it anyway.
    if (query.length > MAX_FAST_QUERY_LENGTH) return APOLLO;
    const cached = this.#known.get(query);
    if (cached) return cached;
    const known = this.#check(query);
    // Texts over MAX_FAST_QUERY_LENGTH are not kept (maxEntrySize).
    this.#known.set(query, known);
    return known;
  }

  #check(query: string): Known {
    const { schema, rules, parseOptions, shapeError, hideSuggestions } = this.options;
    if (shapeError(query)) return APOLLO;
    let document: DocumentNode;
    try {
      document = parse(query, parseOptions);
    } catch {
      return APOLLO;
    }
    if (validate(schema, document, rules, { hideSuggestions }).length > 0) return APOLLO;
    // One operation, a query, one root field: nothing to choose, nothing more to charge.
    const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    const operation = operations.length === 1 ? getOperationAST(document) : null;
    if (!operation || operation.operation !== OperationTypeNode.QUERY) return APOLLO;
    if (rootFieldCount(document, operation) !== 1) return APOLLO;
    return { road: 'fast', document, operation, compiled: undefined, uses: 0 };
  }
}

/**
 * graphql-jit: the document compiled once into a function that runs its fields, coerces its
 * variables and checks its leaf values without graphql-js's per-request walk of the AST. Its own
 * JSON serializer is left off: it knows no custom scalars (DateTime), and JSON.stringify encodes
 * exactly what Apollo's does.
 */
function compile(schema: GraphQLSchema, document: DocumentNode): CompiledQuery | 'none' {
  try {
    const compiled = compileQuery(schema, document, undefined, { disablingCapturingStackErrors: true });
    return isCompiledQuery(compiled) ? compiled : 'none';
  } catch {
    return 'none';
  }
}

interface Fields {
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
}

/**
 * The body's fields when they are of the plain form Apollo accepts without comment; anything
 * unusual (extensions, a string for variables, …) is Apollo's to answer.
 */
function requestFields(body: unknown): Fields | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { query, operationName, variables, extensions, ...rest } = body as Record<string, unknown>;
  if (typeof query !== 'string' || extensions !== undefined || Object.keys(rest).length > 0) return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
  return { query, operationName: operationName ?? undefined, variables: (variables ?? undefined) as Record<string, unknown> | undefined };
}

/**
 * Answers a POST on this road: sets status and content type on `reply` and gives the body, or
 * gives undefined for Apollo's handler to answer. An answer given here is recorded in the
 * operation metrics as Apollo's plugin (operation-metrics.ts) records it.
 */
export async function answerFast(fast: FastQueries, request: FastifyRequest, reply: FastifyReply, context: (request: FastifyRequest) => Promise<object>, recorder: OperationRecorder): Promise<string | undefined> {
  const started = process.hrtime.bigint();
  const answer = await fast.run({ body: request.body, accept: request.headers.accept }, () => context(request));
  if (!answer) return undefined;
  recorder.record(answer.operationName, 'query', 'success', Number(process.hrtime.bigint() - started) / 1e9);
  void reply.code(200).header('content-type', answer.contentType);
  return answer.body;
}
