export { loadCatalog, CatalogError, ISSUER_FROM_INTEGRATION, BUILTIN_PROVIDERS_DIR, DEV_PROVIDERS_DIR, type Catalog, type LoadCatalogOptions } from './loader.ts';
export { CATEGORIES, ProviderEntrySchema, type ProviderEntry, type IdentityRule, type Category } from './schema.ts';
export { resolveServer, fillTemplate, TemplateError, type ResolvedServer, type ServerSettings } from './resolve.ts';
