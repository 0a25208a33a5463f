export { buildExample } from './app.ts';
export { loadConfig, SERVER_FLOW_CALLBACK, DEFAULT_SCOPE, type ExampleConfig } from './config.ts';
