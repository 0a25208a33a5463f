export { connectRoutes } from './connect.ts';
export { v1Routes } from './v1.ts';
export { oauthRoutes } from './oauth.ts';
export { pageRoutes } from './pages.ts';
export { installErrorHandler, sendError } from './errors.ts';
export { installSecurityHeaders } from './security.ts';
export { authorizeRoutes } from './authorize.ts';
