export { startConnect, finishConnect, ConnectFlowError, CALLBACK_PATH, FLOW_TTL_MS, type StartConnectInput, type ConnectResult, type FinishConnectOptions } from './flow.ts';
export { setIntegration, listAppIntegrations, type SetIntegrationInput, type IntegrationView } from './integrations.ts';
export { revokeUpstream, type UpstreamRevocation } from './revoke.ts';
export { readIdentity, readPath, type Identity } from './identity.ts';
export { upstreamFor, upstreamFailure, type Upstream } from './upstream.ts';
export { refreshUpstream, type RefreshOutcome, type RefreshOptions } from './refresh.ts';
