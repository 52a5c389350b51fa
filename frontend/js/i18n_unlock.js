// Sealed data's strings (issue 19): the passphrase window (unlock.html, unlock.js) and the settings' sealing
// state (sealing-state.js), in both languages; added to i18n.js's by importing this module (before the page is
// translated).

import { addStrings } from './i18n.js';

export const UNLOCK_STRINGS = {
  'pt-BR': {
    'unlock.title': 'Frase-senha — ZapPool',
    'unlock.heading': 'Dados selados',
    'unlock.intro': 'Os dados deste ZapPool estão criptografados. Digite a frase-senha para abri-los.',
    'unlock.passphrase': 'Frase-senha',
    'unlock.submit': 'Abrir',
    'unlock.checking': 'Verificando...',
    'sealing.heading': 'Dados selados',
    'sealing.keyring': 'Selados: conversas, mídias e logins dos números ficam criptografados no disco; o chaveiro do sistema abre a chave ao iniciar.',
    'sealing.passphrase': 'Selados: conversas, mídias e logins dos números ficam criptografados no disco; a frase-senha abre a chave ao iniciar.',
    'sealing.both': 'Selados: conversas, mídias e logins dos números ficam criptografados no disco; o chaveiro do sistema ou a frase-senha abre a chave.',
    'sealing.unfinished': 'Selagem pela metade (a conversão ou a troca de chave parou): rode de novo o comando no terminal para terminá-la.',
    'sealing.offKeyring': 'Não selados: conversas, mídias e logins estão sem criptografia no disco. Para selar, feche o ZapPool e rode no terminal:',
    'sealing.requested': 'Serão selados na próxima vez que o ZapPool abrir (o chaveiro do sistema guardará a chave). Ou rode no terminal, com o ZapPool fechado:',
    'sealing.request': '🔒 Selar ao abrir de novo',
    'sealing.cancel': 'Cancelar a selagem',
    'sealing.offNoKeyring': 'Não selados: este sistema não tem chaveiro (Secret Service, Keychain ou Cofre de credenciais), então a selagem precisa de uma frase-senha. Feche o ZapPool e rode no terminal:',
  },
  en: {
    'unlock.title': 'Passphrase — ZapPool',
    'unlock.heading': 'Sealed data',
    'unlock.intro': 'This ZapPool\'s data is encrypted. Type the passphrase to open it.',
    'unlock.passphrase': 'Passphrase',
    'unlock.submit': 'Open',
    'unlock.checking': 'Checking...',
    'sealing.heading': 'Sealed data',
    'sealing.keyring': 'Sealed: conversations, media and the numbers\' logins are encrypted on disk; the system keyring opens the key at start.',
    'sealing.passphrase': 'Sealed: conversations, media and the numbers\' logins are encrypted on disk; the passphrase opens the key at start.',
    'sealing.both': 'Sealed: conversations, media and the numbers\' logins are encrypted on disk; the system keyring or the passphrase opens the key.',
    'sealing.unfinished': 'Sealing is half done (the conversion or key change stopped): run the command in a terminal again to finish it.',
    'sealing.offKeyring': 'Not sealed: conversations, media and logins are unencrypted on disk. To seal them, close ZapPool and run in a terminal:',
    'sealing.requested': 'They will be sealed the next time ZapPool opens (the system keyring will hold the key). Or run in a terminal, with ZapPool closed:',
    'sealing.request': '🔒 Seal at the next start',
    'sealing.cancel': 'Cancel sealing',
    'sealing.offNoKeyring': 'Not sealed: this system has no keyring (Secret Service, Keychain or Credential Locker), so sealing needs a passphrase. Close ZapPool and run in a terminal:',
  },
};

addStrings(UNLOCK_STRINGS);
