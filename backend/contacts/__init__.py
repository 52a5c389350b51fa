"""Contacts and chats from WhatsApp itself (issue 16, section 1): a number's address book, its chat list merged
with ZapPool's own log, and a chat's earlier messages paged backwards into the log. Reaches the numbers through
whatsapp.client.wpp_call only."""
