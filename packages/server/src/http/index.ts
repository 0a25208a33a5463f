export { connectRoutes } from './connect.ts';
export { v1Routes } from './v1.ts';
export { oauthRoutes } from './oauth.ts';
export { pageRoutes } from './pages.ts';
export { answerClientError, installErrorHandler, sendError } from './errors.ts';
export { installSecurityHeaders } from './security.ts';
export { authorizeRoutes } from './authorize.ts';
export { installRateLimits, rateLimitGroupOf } from './limits.ts';
export { installMetrics, METRICS_PATH } from './metrics.ts';
