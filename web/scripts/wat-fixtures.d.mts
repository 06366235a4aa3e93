/** Compiles test/fixtures/*.wat and returns the wasm.json text (see wat-fixtures.mjs). */
export function compileFixtures(): string;
