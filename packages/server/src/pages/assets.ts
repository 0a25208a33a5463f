import { readFileSync } from 'node:fs';

/** The script of the pages shown in the authenticator's popup (served at POPUP_SCRIPT_PATH). */
export const POPUP_SCRIPT = readFileSync(new URL('./assets/popup.js', import.meta.url), 'utf8');
