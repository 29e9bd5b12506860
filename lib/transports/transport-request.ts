/** Where each transport's request is: owned by `auth/`, which the decorators read it with. */
export { getTransportRequest } from '../auth/execution-context.js';
