/** OpenAPI documents with Fief's security scheme on the routes the guard covers. */
export {
  createFiefSwaggerDocument,
  type FiefOpenAPIConfig,
  type FiefOpenAPIPaths,
  type FiefSwaggerOptions,
} from './fief-swagger.js';
