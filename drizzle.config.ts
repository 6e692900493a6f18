import { defineConfig } from 'drizzle-kit';

// drizzle-kit reads the schema index and writes SQL migrations into migrations/, which are committed.
// Functions and triggers that drizzle-kit cannot express live in custom migrations (`--custom`).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
  casing: 'snake_case',
});
