export { createApp, listApps, deleteApp, appForApiKey, checkRedirectUri, toAppView, type AppView, type CreatedApp, type CreateAppInput } from './apps.ts';
export { createConnectSession, endUserOfSession, CONNECT_SESSION_TTL_MS, type EndUser } from './sessions.ts';
