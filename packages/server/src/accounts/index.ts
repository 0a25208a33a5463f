export { listAccounts, getAccount, updateAccountMetadata, releaseAccount, accountScopes, PAGE_SIZE_MAX, type ListAccountsInput } from './manage.ts';
export { importAccount, type ImportAccountInput } from './import.ts';
export { toAccountView, type AccountView } from './views.ts';
export {
  freshAccessToken,
  accountAccess,
  rememberedAccess,
  type AccountAccess,
  refreshAccount,
  DEFAULT_REFRESH_MARGIN_SECONDS,
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  type FreshToken,
  type FreshTokenOptions,
} from './fresh-token.ts';
export { completeConnect, emitAccountEvent } from './events.ts';
export { startRefresher, refreshDueAccounts, REFRESHER_BATCH, type RefresherOptions } from './refresher.ts';
