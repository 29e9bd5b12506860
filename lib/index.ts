/**
 * The public API of `nestjs-fief`. Nothing else is public: import from here (or from
 * `nestjs-fief/testing` for the embedded dev server).
 */

// --- Fief client core (framework-free) ---
export * from './client/types.js';
export * from './client/errors.js';

// --- Nest module ---

// --- Browser login flow (auth controller, session cookie) ---
export * from './login/index.js';
