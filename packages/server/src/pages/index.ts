export { errorPage, connectedPage, STYLESHEET } from './pages.ts';
export { chooserPage, consentPage } from './authorize.ts';
export { html, layout, escapeHtml, Html, STYLESHEET_PATH } from './html.ts';
export { docsPage, type DocsOperation } from './docs.ts';
