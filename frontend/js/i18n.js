// Every string the windows show, in Portuguese (Brazil, the seed's language and the default) and English.
//
// The chosen language is the `language` preference; it is also kept in localStorage so the login page, which
// runs before anyone may read preferences, already speaks it. HTML names its strings with data-i18n
// attributes (textContent) and data-i18n-<attribute> (aria-label, placeholder, title, alt); scripts call t().

const STRINGS = {
  'pt-BR': {
    'app.tagline': 'Múltiplas conexões WhatsApp',
    'common.cancel': 'Cancelar',
    'common.back': '← Início',
    'common.logout': 'Sair',
    'common.loading': 'Carregando...',
    'common.live': 'Atualizado em tempo real',
    'common.offline': 'Reconectando aos eventos...',
    'common.language': 'Idioma',
    'common.skip': 'Pular para o conteúdo',

    'status.idle': 'Ocioso',
    'status.initializing': 'Inicializando...',
    'status.qr_ready': 'Aguardando QR',
    'status.authenticated': 'Autenticado',
    'status.ready': 'Conectado',
    'status.disconnected': 'Desconectado',
    'status.error': 'Erro',

    'reason.manual': 'desconectado por você',
    'reason.logged_out': 'aparelho desvinculado no celular',
    'reason.network': 'sem conexão com a internet',
    'reason.browser_closed': 'navegador fechado',
    'reason.browser_crashed': 'o navegador travou',
    'reason.qr_timeout': 'QR não escaneado a tempo',
    'reason.load_failed': 'o WhatsApp Web não carregou',
    'reason.browser_not_found': 'nenhum navegador encontrado',
    'reason.shutdown': 'ZapPool encerrado',

    'login.title': 'Entrar — ZapPool',
    'login.heading': 'Entrar no ZapPool',
    'login.username': 'Usuário',
    'login.password': 'Senha',
    'login.submit': 'Entrar',
    'login.firstRun': 'Primeiro acesso: usuário admin, senha admin.',
    'login.throttled': 'Muitas tentativas erradas. Tente de novo em {seconds} s.',
    'login.canRetry': 'Já pode tentar de novo.',
    'password.heading': 'Troque a senha do administrador',
    'password.intro': 'Por segurança, defina uma nova senha antes de continuar.',
    'password.current': 'Senha atual',
    'password.new': 'Nova senha',
    'password.confirm': 'Repita a nova senha',
    'password.rules': 'Pelo menos 8 caracteres; não pode ser “admin” nem igual à atual.',
    'password.submit': 'Salvar nova senha',
    'password.mismatch': 'As duas senhas novas não são iguais.',
    'password.done': 'Senha alterada.',

    'main.title': 'ZapPool',
    'main.manage': '🔗 Gerenciar Conexões',
    'main.connect': '📱 Conectar WhatsApp',
    'main.summary': 'Resumo do pool',
    'main.byStatus': 'Por status',
    'main.none': 'Nenhuma conexão ainda.',
    'main.qrOpened': 'A janela do QR code foi aberta.',
    'stats.clients': 'Clientes',
    'stats.connected': 'Conectados',
    'stats.messages': 'Mensagens',
    'stats.ofMax': 'de {max}',

    'settings.heading': '⚙️ Configurações',
    'settings.notifications': 'Notificações na área de trabalho',
    'settings.notificationsHelp': 'Avisar quando um número desconectar e quando chegar mensagem.',
    'settings.allowBrowser': 'Permitir notificações neste navegador',
    'settings.browserBlocked': 'O navegador bloqueou as notificações deste endereço: libere nas configurações do site.',
    'settings.saved': 'Preferência salva.',
    'system.heading': 'Navegador e registros',
    'system.browser': 'Navegador usado pelo WhatsApp Web',
    'system.browserAuto': 'Vazio: o ZapPool escolhe o Chromium, Chrome ou Edge instalado',
    'system.browserHelp': 'Caminho completo do executável. Vale a partir do próximo início do ZapPool.',
    'system.browserDesktopOnly': 'O navegador só pode ser escolhido na janela do ZapPool ou com --browser no terminal: por segurança, não por aqui.',
    'system.save': 'Salvar',
    'system.openLogs': '📂 Abrir pasta de registros',
    'system.logsAt': 'Registros em: {path}',
    'keys.heading': 'Chaves de API',
    'keys.intro': 'Programas usam uma chave para chamar a API REST. A chave aparece uma única vez.',
    'keys.name': 'Nome da nova chave',
    'keys.create': 'Criar chave',
    'keys.createdOnce': 'Copie a chave “{name}” agora: ela não será mostrada de novo.',
    'keys.copy': 'Copiar',
    'keys.copied': 'Chave copiada.',
    'keys.revoke': 'Revogar',
    'keys.revokeTitle': 'Revogar a chave?',
    'keys.revokeBody': 'Programas que usam a chave “{name}” deixam de funcionar na hora.',
    'keys.revoked': 'Revogada em {date}',
    'keys.active': 'Ativa',
    'keys.none': 'Nenhuma chave criada.',
    'keys.meta': 'Criada em {created} · último uso: {used}',
    'keys.never': 'nunca',

    'pool.title': 'Gerenciar Conexões — ZapPool',
    'pool.heading': '🔗 Gerenciador de Conexões',
    'pool.add': '➕ Adicionar Nova Conexão',
    'pool.name': 'Nome da nova conexão (opcional)',
    'pool.namePlaceholder': 'ex.: Vendas',
    'pool.restore': '📥 Restaurar Sessões',
    'pool.restoring': 'Restaurando sessões...',
    'pool.restored': '{restored}/{total} sessões restauradas',
    'pool.search': 'Buscar por ID, nome ou telefone',
    'pool.filter': 'Filtrar por status',
    'pool.filterAll': 'Todos os status',
    'pool.empty': 'Nenhuma conexão ainda. Clique em “➕ Adicionar Nova Conexão”.',
    'pool.noMatch': 'Nenhuma conexão corresponde à busca.',
    'pool.list': 'Conexões',
    'pool.moved': '{name}: posição {position} de {count}.',
    'pool.added': 'Conexão {name} adicionada.',
    'pool.removed': 'Conexão {name} removida.',
    'card.phone': 'Telefone',
    'card.created': 'Criado em',
    'card.messages': 'Mensagens',
    'card.unread': 'Não lidas',
    'card.today': 'Enviadas hoje',
    'card.todayOf': '{sent} de {cap}',
    'card.todayNoCap': '{sent} (sem limite)',
    'card.limits': '⏱️ Limites',
    'card.held': 'No limite de envio: mensagens aguardando até {time}',
    'limits.title': 'Limites de envio de {name}',
    'limits.interval': 'Intervalo mínimo entre dois envios (segundos)',
    'limits.jitter': 'Mais um tempo aleatório de até (segundos)',
    'limits.hourly': 'Máximo de mensagens por hora (0: sem limite)',
    'limits.daily': 'Máximo de mensagens por dia (0: sem limite)',
    'limits.help': 'Uma mensagem acima do limite espera na fila pela próxima hora (ou pelo próximo dia) e é enviada então; nunca é descartada.',
    'limits.save': 'Salvar',
    'limits.saved': 'Limites de {name} salvos',
    'card.chat': '💬 Abrir Chat',
    'card.disconnect': '🔌 Desconectar',
    'card.reconnect': '🔄 Reconectar',
    'card.remove': '🗑️ Remover',
    'card.qr': '📷 Ver QR',
    'card.move': 'Mover {name}: arraste, ou use as setas do teclado',
    'card.actions': 'Ações de {name}',
    'remove.title': 'Remover conexão?',
    'remove.body': 'Isto desconecta {name} do WhatsApp e apaga a sessão salva. Para usar o número de novo será preciso escanear o QR code.',
    'remove.confirm': '🗑️ Remover',

    'qr.title': 'Conectar WhatsApp — ZapPool',
    'qr.heading': '📱 Conectar WhatsApp',
    'qr.instructions': 'No celular, abra o WhatsApp → Aparelhos conectados → Conectar um aparelho, e aponte a câmera para o código.',
    'qr.alt': 'QR code para escanear com o WhatsApp do celular',
    'qr.expiresIn': 'Novo código em {seconds} s',
    'qr.renewing': 'Trocando o código...',
    'qr.expired': 'Ninguém escaneou a tempo e o WhatsApp parou de gerar códigos.',
    'qr.newCode': '🔄 Gerar novo QR',
    'qr.retry': '🔄 Tentar de novo',
    'qr.pairing': 'Conectar com número de telefone',
    'qr.pairingPhone': 'Número do WhatsApp, com DDD',
    'qr.pairingSubmit': 'Gerar código',
    'qr.pairingCode': 'Digite este código no celular:',
    'qr.pairingHelp': 'WhatsApp → Aparelhos conectados → Conectar um aparelho → Conectar com número de telefone.',
    'qr.connected': 'Conectado ✓',
    'qr.phone': 'Telefone: {phone}',
    'qr.closing': 'Esta janela vai fechar sozinha.',
    'qr.back': 'Voltar ao início',
    'qr.notFound': 'A conexão {id} não existe (foi removida?).',
    'qr.connection': 'Conexão: {name}',

    'chat.title': 'Chat — ZapPool',
    'chat.heading': '💬 Chat — {name}',
    'chat.chats': 'Conversas',
    'chat.newChat': 'Nova conversa',
    'chat.newNumber': 'Número, com DDD',
    'chat.open': 'Abrir',
    'chat.noChats': 'Nenhuma conversa ainda.',
    'chat.pick': 'Escolha uma conversa ou comece uma nova.',
    'chat.unread': '{count} não lidas',
    'chat.older': 'Carregar mensagens anteriores',
    'chat.thread': 'Mensagens com {name}',
    'chat.message': 'Mensagem',
    'chat.messagePlaceholder': 'Escreva uma mensagem',
    'chat.captionPlaceholder': 'Legenda (opcional)',
    'chat.send': 'Enviar',
    'chat.attach': '📎 Anexar arquivo',
    'chat.attachment': 'Anexo: {name} ({size})',
    'chat.removeAttachment': 'Remover anexo',
    'chat.notReady': 'Este número está {status}: as mensagens esperam na fila até ele reconectar.',
    'chat.empty': 'Nenhuma mensagem nesta conversa ainda.',
    'chat.media': '[{type}]',
    'ack.queued': 'Na fila',
    'ack.sending': 'Enviando',
    'ack.sent': 'Enviada',
    'ack.delivered': 'Entregue',
    'ack.read': 'Lida',
    'ack.failed': 'Não enviada',

    'notify.disconnected': '{name} desconectou',
    'notify.message': 'Nova mensagem em {name}',

    'error.network': 'Sem resposta do ZapPool. Ele está rodando?',
    'error.owner_link_required': 'O primeiro acesso pelo navegador precisa do link que o ZapPool mostrou no terminal em que foi aberto (ou use a janela do ZapPool).',
    'error.generic': 'Algo deu errado: {message}',
    'error.wrong_credentials': 'Usuário ou senha incorretos.',
    'error.wrong_password': 'A senha atual está incorreta.',
    'error.pool_full': 'O pool está cheio: remova uma conexão antes de adicionar outra.',
    'error.client_not_ready': 'Este número não está conectado.',
    'error.number_not_on_whatsapp': 'Este número não está no WhatsApp.',
    'error.invalid_number': 'Número inválido: use DDD e número, por exemplo 11 99999-0001.',
    'error.invalid_media': 'O arquivo não pode ser enviado: {message}',
    'error.no_qr_code': 'Não há QR code agora.',
    'error.not_found': 'Não encontrado.',
    'error.invalid_password': 'A nova senha não serve: {message}',
    'error.browser_path': 'Informe o caminho completo do executável do navegador, ou deixe vazio.',
  },

  en: {
    'app.tagline': 'Many WhatsApp connections',
    'common.cancel': 'Cancel',
    'common.back': '← Home',
    'common.logout': 'Log out',
    'common.loading': 'Loading...',
    'common.live': 'Updated live',
    'common.offline': 'Reconnecting to events...',
    'common.language': 'Language',
    'common.skip': 'Skip to content',

    'status.idle': 'Idle',
    'status.initializing': 'Starting...',
    'status.qr_ready': 'Waiting for QR scan',
    'status.authenticated': 'Authenticated',
    'status.ready': 'Connected',
    'status.disconnected': 'Disconnected',
    'status.error': 'Error',

    'reason.manual': 'disconnected by you',
    'reason.logged_out': 'unlinked from the phone',
    'reason.network': 'no internet connection',
    'reason.browser_closed': 'browser closed',
    'reason.browser_crashed': 'the browser crashed',
    'reason.qr_timeout': 'QR code not scanned in time',
    'reason.load_failed': 'WhatsApp Web did not load',
    'reason.browser_not_found': 'no browser found',
    'reason.shutdown': 'ZapPool stopped',

    'login.title': 'Log in — ZapPool',
    'login.heading': 'Log in to ZapPool',
    'login.username': 'Username',
    'login.password': 'Password',
    'login.submit': 'Log in',
    'login.firstRun': 'First time: username admin, password admin.',
    'login.throttled': 'Too many wrong attempts. Try again in {seconds} s.',
    'login.canRetry': 'You can try again now.',
    'password.heading': 'Change the admin password',
    'password.intro': 'For safety, choose a new password before going on.',
    'password.current': 'Current password',
    'password.new': 'New password',
    'password.confirm': 'New password again',
    'password.rules': 'At least 8 characters; not “admin”, not the current one.',
    'password.submit': 'Save new password',
    'password.mismatch': 'The two new passwords differ.',
    'password.done': 'Password changed.',

    'main.title': 'ZapPool',
    'main.manage': '🔗 Manage Connections',
    'main.connect': '📱 Connect WhatsApp',
    'main.summary': 'Pool summary',
    'main.byStatus': 'By status',
    'main.none': 'No connections yet.',
    'main.qrOpened': 'The QR code window was opened.',
    'stats.clients': 'Clients',
    'stats.connected': 'Connected',
    'stats.messages': 'Messages',
    'stats.ofMax': 'of {max}',

    'settings.heading': '⚙️ Settings',
    'settings.notifications': 'Desktop notifications',
    'settings.notificationsHelp': 'Tell me when a number disconnects and when a message arrives.',
    'settings.allowBrowser': 'Allow notifications in this browser',
    'settings.browserBlocked': 'The browser blocks notifications for this address: allow them in the site settings.',
    'settings.saved': 'Preference saved.',
    'system.heading': 'Browser and logs',
    'system.browser': 'Browser WhatsApp Web runs in',
    'system.browserAuto': 'Empty: ZapPool picks the installed Chromium, Chrome or Edge',
    'system.browserHelp': 'Full path of the executable. Takes effect the next time ZapPool starts.',
    'system.browserDesktopOnly': 'The browser can be chosen only in the ZapPool window or with --browser in the terminal: for safety, not from here.',
    'system.save': 'Save',
    'system.openLogs': '📂 Open the logs folder',
    'system.logsAt': 'Logs are in: {path}',
    'keys.heading': 'API keys',
    'keys.intro': 'Programs use a key to call the REST API. A key is shown only once.',
    'keys.name': 'Name of the new key',
    'keys.create': 'Create key',
    'keys.createdOnce': 'Copy the key “{name}” now: it will not be shown again.',
    'keys.copy': 'Copy',
    'keys.copied': 'Key copied.',
    'keys.revoke': 'Revoke',
    'keys.revokeTitle': 'Revoke the key?',
    'keys.revokeBody': 'Programs using the key “{name}” stop working at once.',
    'keys.revoked': 'Revoked on {date}',
    'keys.active': 'Active',
    'keys.none': 'No keys yet.',
    'keys.meta': 'Created {created} · last used: {used}',
    'keys.never': 'never',

    'pool.title': 'Manage Connections — ZapPool',
    'pool.heading': '🔗 Connection Manager',
    'pool.add': '➕ Add New Connection',
    'pool.name': 'Name of the new connection (optional)',
    'pool.namePlaceholder': 'e.g. Sales',
    'pool.restore': '📥 Restore Sessions',
    'pool.restoring': 'Restoring sessions...',
    'pool.restored': '{restored}/{total} sessions restored',
    'pool.search': 'Search by ID, name or phone',
    'pool.filter': 'Filter by status',
    'pool.filterAll': 'All statuses',
    'pool.empty': 'No connections yet. Click “➕ Add New Connection”.',
    'pool.noMatch': 'No connection matches the search.',
    'pool.list': 'Connections',
    'pool.moved': '{name}: position {position} of {count}.',
    'pool.added': 'Connection {name} added.',
    'pool.removed': 'Connection {name} removed.',
    'card.phone': 'Phone',
    'card.created': 'Created',
    'card.messages': 'Messages',
    'card.unread': 'Unread',
    'card.today': 'Sent today',
    'card.todayOf': '{sent} of {cap}',
    'card.todayNoCap': '{sent} (no cap)',
    'card.limits': '⏱️ Limits',
    'card.held': 'At its sending cap: messages waiting until {time}',
    'limits.title': 'Sending limits of {name}',
    'limits.interval': 'Least time between two sends (seconds)',
    'limits.jitter': 'Plus a random time of up to (seconds)',
    'limits.hourly': 'Most messages an hour (0: no cap)',
    'limits.daily': 'Most messages a day (0: no cap)',
    'limits.help': 'A message over a cap waits in the queue for the next hour (or day) and is sent then; it is never dropped.',
    'limits.save': 'Save',
    'limits.saved': 'Limits of {name} saved',
    'card.chat': '💬 Open Chat',
    'card.disconnect': '🔌 Disconnect',
    'card.reconnect': '🔄 Reconnect',
    'card.remove': '🗑️ Remove',
    'card.qr': '📷 Show QR',
    'card.move': 'Move {name}: drag, or use the arrow keys',
    'card.actions': 'Actions for {name}',
    'remove.title': 'Remove connection?',
    'remove.body': 'This disconnects {name} from WhatsApp and deletes its saved session. Using the number again will need a new QR scan.',
    'remove.confirm': '🗑️ Remove',

    'qr.title': 'Connect WhatsApp — ZapPool',
    'qr.heading': '📱 Connect WhatsApp',
    'qr.instructions': 'On the phone, open WhatsApp → Linked devices → Link a device, and point the camera at the code.',
    'qr.alt': 'QR code to scan with WhatsApp on the phone',
    'qr.expiresIn': 'New code in {seconds} s',
    'qr.renewing': 'Changing the code...',
    'qr.expired': 'Nobody scanned in time and WhatsApp stopped making codes.',
    'qr.newCode': '🔄 Get a new QR code',
    'qr.retry': '🔄 Try again',
    'qr.pairing': 'Link with phone number',
    'qr.pairingPhone': 'WhatsApp number, with area code',
    'qr.pairingSubmit': 'Get code',
    'qr.pairingCode': 'Type this code on the phone:',
    'qr.pairingHelp': 'WhatsApp → Linked devices → Link a device → Link with phone number instead.',
    'qr.connected': 'Connected ✓',
    'qr.phone': 'Phone: {phone}',
    'qr.closing': 'This window will close by itself.',
    'qr.back': 'Back to the start',
    'qr.notFound': 'The connection {id} does not exist (was it removed?).',
    'qr.connection': 'Connection: {name}',

    'chat.title': 'Chat — ZapPool',
    'chat.heading': '💬 Chat — {name}',
    'chat.chats': 'Chats',
    'chat.newChat': 'New chat',
    'chat.newNumber': 'Number, with area code',
    'chat.open': 'Open',
    'chat.noChats': 'No chats yet.',
    'chat.pick': 'Pick a chat or start a new one.',
    'chat.unread': '{count} unread',
    'chat.older': 'Load older messages',
    'chat.thread': 'Messages with {name}',
    'chat.message': 'Message',
    'chat.messagePlaceholder': 'Type a message',
    'chat.captionPlaceholder': 'Caption (optional)',
    'chat.send': 'Send',
    'chat.attach': '📎 Attach file',
    'chat.attachment': 'Attachment: {name} ({size})',
    'chat.removeAttachment': 'Remove attachment',
    'chat.notReady': 'This number is {status}: messages wait in the queue until it reconnects.',
    'chat.empty': 'No messages in this chat yet.',
    'chat.media': '[{type}]',
    'ack.queued': 'Queued',
    'ack.sending': 'Sending',
    'ack.sent': 'Sent',
    'ack.delivered': 'Delivered',
    'ack.read': 'Read',
    'ack.failed': 'Not sent',

    'notify.disconnected': '{name} disconnected',
    'notify.message': 'New message on {name}',

    'error.network': 'No answer from ZapPool. Is it running?',
    'error.owner_link_required': 'The first login from a browser needs the link ZapPool printed in the terminal that started it (or use the ZapPool window).',
    'error.generic': 'Something went wrong: {message}',
    'error.wrong_credentials': 'Wrong username or password.',
    'error.wrong_password': 'The current password is wrong.',
    'error.pool_full': 'The pool is full: remove a connection before adding another.',
    'error.client_not_ready': 'This number is not connected.',
    'error.number_not_on_whatsapp': 'This number is not on WhatsApp.',
    'error.invalid_number': 'Invalid number: use area code and number, e.g. 11 99999-0001.',
    'error.invalid_media': 'The file cannot be sent: {message}',
    'error.no_qr_code': 'There is no QR code now.',
    'error.not_found': 'Not found.',
    'error.invalid_password': 'The new password will not do: {message}',
    'error.browser_path': 'Give the full path of the browser executable, or leave it empty.',
  },
};

export const LANGUAGES = [['pt-BR', 'Português (Brasil)'], ['en', 'English']];
export const DEFAULT_LANGUAGE = 'pt-BR';
const STORAGE_KEY = 'zapool.language';
const ATTRIBUTES = ['aria-label', 'placeholder', 'title', 'alt'];

function stored() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage can be disabled; the preference from the server still applies after login
  }
}

let current = STRINGS[stored()] ? stored() : DEFAULT_LANGUAGE;

/** The language in use now ("pt-BR" or "en"). */
export function language() {
  return current;
}

/** The string `key` in the current language, with {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** True when `key` has a string (for optional texts such as error codes). */
export function has(key) {
  return key in STRINGS[DEFAULT_LANGUAGE];
}

/** Fill every data-i18n element and attribute under `root`. */
export function translate(root = document) {
  for (const node of root.querySelectorAll('[data-i18n]')) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const attr of ATTRIBUTES) {
    for (const node of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      node.setAttribute(attr, t(node.getAttribute(`data-i18n-${attr}`)));
    }
  }
  const title = document.documentElement.dataset.i18nTitle;
  if (title) document.title = t(title);
  document.documentElement.lang = current;
}

/** Switch language: remember it on this computer, re-translate the page, tell the page's scripts. */
export function setLanguage(lang) {
  if (!STRINGS[lang]) return;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered locally; the server's preference still is
  }
  if (lang === current) return;
  current = lang;
  translate();
  window.dispatchEvent(new CustomEvent('zapool:language', { detail: lang }));
}

// Another window of the app changed the language: follow it.
window.addEventListener('storage', (event) => {
  if (event.key === STORAGE_KEY && event.newValue) setLanguage(event.newValue);
});
