/** DateTime (ISO 8601 with offset) and JSON, from graphql-scalars. */
export { DateTimeResolver as DateTimeScalar, JSONResolver as JSONScalar } from 'graphql-scalars';
