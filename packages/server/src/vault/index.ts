export { parseKeyring, generateKeyringSpec, KeyringError, type Keyring } from './keyring.ts';
export { createVault, VaultError, type Vault, type SealContext } from './seal.ts';
export { loadOrCreateDevKeys } from "./dev-keys.ts";
export { mintToken, tokenKey, safeEqual, newId, randomValue, TOKEN_PREFIX, type TokenKind } from './tokens.ts';
