// The chat window tells the other windows that it read a conversation: the server sends no event for that,
// and the pool manager's unread counts must drop. (BroadcastChannel reaches every window of this app.)

export const READ_CHANNEL = typeof BroadcastChannel === 'function' ? new BroadcastChannel('zapool-chat-read') : null;
