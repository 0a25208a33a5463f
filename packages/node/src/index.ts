export { Gatehouse, type GatehouseOptions, type AccountHandle } from './client.ts';
export {
  codes,
  GatehouseSdkError,
  OperationProcessingError,
  AuthorizationResponseError,
  ResponseBodyError,
  WebhookVerificationError,
  type Code,
} from './errors.ts';
export {
  generateRandom as generateState,
  generateRandom as generateNonce,
  pkceChallenge,
  type AuthorizeOptions,
  type AuthorizationServerMetadata,
  type CallbackQuery,
  type TokenAccount,
  type TokenInfo,
  type TokenSet,
} from './oauth.ts';
export type { Account, AccountPage, AccountScopes, ConnectSessionInput, ImportAccountInput, ListAccountsOptions, Released } from './accounts.ts';
export { verifyWebhook, type HeaderBag, type VerifyOptions, type WebhookEvent, type WebhookEventType } from './webhooks.ts';
