import { serializerCompiler } from 'fastify-type-provider-zod';

type SerializerCompiler = typeof serializerCompiler;

/**
 * The zod serializer (validate against the response schema, then JSON.stringify), remembering the JSON of
 * frozen payloads. A frozen object cannot change, so its JSON cannot either: a cached prediction served a
 * thousand times is validated and stringified once. Anything not frozen is serialized every time.
 */
export const memoizingSerializerCompiler: SerializerCompiler = (route) => {
  const serialize = serializerCompiler(route);
  const memo = new WeakMap<object, string>();
  return (data: unknown) => {
    if (typeof data !== 'object' || data === null || !Object.isFrozen(data)) return serialize(data);
    let json = memo.get(data);
    if (json === undefined) {
      json = serialize(data);
      memo.set(data, json);
    }
    return json;
  };
};
