export { errorPage, connectedPage, STYLESHEET } from './pages.ts';
export { html, layout, escapeHtml, Html, STYLESHEET_PATH } from './html.ts';
