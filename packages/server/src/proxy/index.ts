export { proxyCall, retryDelay, PROXY_METHODS, MAX_RETRIES, RETRY_AFTER_CAP_MS, type ProxyCall, type ProxyResponse } from './forward.ts';
export { CallerGone, REPLAY_LIMIT_BYTES } from './upstream.ts';
export { readCredentials, type Credentials } from './credentials.ts';
export { targetUrl, rawTargetUrl, checkBase, type ProxyBase } from './target.ts';
