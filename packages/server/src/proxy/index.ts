export { proxyCall, CallerGone, retryDelay, PROXY_METHODS, REPLAY_LIMIT_BYTES, MAX_RETRIES, RETRY_AFTER_CAP_MS, type ProxyCall, type ProxyResponse } from './forward.ts';
export { readCredentials, type Credentials } from './credentials.ts';
export { targetUrl, rawTargetUrl, checkBase, proxyBase, proxyBaseFor, templateValues, type ProxyBase } from './target.ts';
