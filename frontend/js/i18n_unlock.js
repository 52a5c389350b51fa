// The passphrase window's strings (issue 19: unlock.html, unlock.js), in both languages; added to i18n.js's by
// importing this module (before the page is translated).

import { addStrings } from './i18n.js';

export const UNLOCK_STRINGS = {
  'pt-BR': {
    'unlock.title': 'Frase-senha — ZapPool',
    'unlock.heading': 'Dados selados',
    'unlock.intro': 'Os dados deste ZapPool estão criptografados. Digite a frase-senha para abri-los.',
    'unlock.passphrase': 'Frase-senha',
    'unlock.submit': 'Abrir',
    'unlock.checking': 'Verificando...',
  },
  en: {
    'unlock.title': 'Passphrase — ZapPool',
    'unlock.heading': 'Sealed data',
    'unlock.intro': 'This ZapPool\'s data is encrypted. Type the passphrase to open it.',
    'unlock.passphrase': 'Passphrase',
    'unlock.submit': 'Open',
    'unlock.checking': 'Checking...',
  },
};

addStrings(UNLOCK_STRINGS);
