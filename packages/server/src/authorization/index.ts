export {
  createApp,
  listApps,
  deleteApp,
  updateApp,
  checkRedirectUri,
  toAppView,
  type AppView,
  type CreatedApp,
  type CreateAppInput,
  type UpdateAppInput,
} from './apps.ts';
export { createConnectSession, endUserOfSession, CONNECT_SESSION_TTL_MS, type EndUser } from './sessions.ts';
export { authenticateClient, parseBasic, type ClientCredentials, type ClientAuthMethod } from './clients.ts';
export { parseScope, grantableScope, splitScope, API_RIGHTS, type ApiRight, type ParsedScope } from './scopes.ts';
export { clientCredentialsGrant, introspect, rememberedIntrospection, revokeToken, revokeGrant, findAccessToken, rememberedAccessToken, type AccessTokenFacts, issueTokens, ACCESS_TOKEN_TTL_S, type TokenResponse } from './tokens.ts';
export { authorizationServerMetadata } from './metadata.ts';
export { authorize, connectForRequest, attachAccount, abandonAuthorization, authorizationRequestOf, type AuthorizeParams, type AuthorizeOutcome } from './requests.ts';
export { consentView, decideConsent, type ConsentView } from './consent.ts';
export { authorizationCodeGrant, refreshTokenGrant } from './grants.ts';
export { revokeEndUserTokens } from './end-users.ts';
export { parseRelayUri, relayUriFits, appTrusting, acceptRelay, takeRelayResult, RELAY_PATH, RELAY_RESULT_TTL_MS, type RelayTarget, type RelayResult } from './relay.ts';
export { forgetCredentials, CREDENTIAL_CACHE_TTL_MS } from './cache.ts';
export { apiCaller, rememberedApiCaller, type ApiCaller } from './callers.ts';
