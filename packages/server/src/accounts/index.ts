export { listAccounts, getAccount, updateAccountMetadata, releaseAccount, accountScopes, PAGE_SIZE_MAX, type ListAccountsInput } from './manage.ts';
export { importAccount, type ImportAccountInput } from './import.ts';
export { toAccountView, type AccountView } from './views.ts';
