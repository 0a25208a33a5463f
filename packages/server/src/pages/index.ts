export { errorPage, connectedPage, STYLESHEET } from './pages.ts';
export { chooserPage, consentPage, relayPage } from './authorize.ts';
export { html, layout, escapeHtml, Html, STYLESHEET_PATH, POPUP_SCRIPT_PATH, type PopupContext } from './html.ts';
export { POPUP_SCRIPT } from './assets.ts';
export { docsPage, type DocsOperation } from './docs.ts';
