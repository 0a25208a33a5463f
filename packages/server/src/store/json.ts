import type { JsonText } from './schema.ts';

export const toJson = (value: unknown): JsonText => JSON.stringify(value);
export function fromJson<T>(text: JsonText | null, fallback: T): T {
  if (text === null) return fallback;
  return JSON.parse(text) as T;
}
