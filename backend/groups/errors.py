"""The refusals of group actions, each a 4xx naming the reason (their sentences: frontend/js/i18n_errors.js),
and the one place WA-JS's error codes (the WPPError codes of its bundle) become them."""

from __future__ import annotations

from ..errors import Conflict, InvalidInput, NotFound, WhatsAppError, ZapPoolError


class NotGroupAdmin(ZapPoolError):
    """Only a group's admins may do this (add, remove, promote, demote, the invite link; the subject and the
    description too when the group is so set)."""

    status = 403
    code = "not_group_admin"


class GroupNotFound(NotFound):
    """No such group, or the number is not in it."""

    code = "group_not_found"


class NotGroupMember(NotFound):
    """A participant named is not in the group."""

    code = "not_group_member"


class ParticipantNotOnWhatsApp(InvalidInput):
    """A participant's number is not on WhatsApp."""

    code = "participant_not_on_whatsapp"


class GroupFull(Conflict):
    """The group has reached WhatsApp's size limit."""

    code = "group_full"


class InvalidInvite(NotFound):
    """The invite link is wrong, or was revoked."""

    code = "invalid_invite"


class AlreadyAdmin(Conflict):
    """Promoting someone who is an admin already."""

    code = "already_group_admin"


class NotAnAdmin(Conflict):
    """Demoting someone who is not an admin."""

    code = "not_an_admin"


# WA-JS's WPPError codes (dist/wppconnect-wa.js) -> ZapPool's refusal.
WPP_CODES: dict[str, type[ZapPoolError]] = {
    "group_you_are_not_admin": NotGroupAdmin, "you_not_group_admin": NotGroupAdmin,
    "you_are_not_allowed_set_group_subject": NotGroupAdmin, "you_are_not_allowed_set_group_description": NotGroupAdmin,
    "you_are_not_allowed_set_group_property": NotGroupAdmin, "group_you_are_restricted_member": NotGroupAdmin,
    "can_not_send_message_to_this_group": NotGroupAdmin,
    "group_not_exist": GroupNotFound, "chat_not_found": GroupNotFound, "not_a_group": GroupNotFound,
    "group_participant_not_found": NotGroupMember, "not_valid_group_participants": NotGroupMember,
    "group_participant_is_not_a_group_member": NotGroupMember,
    "participant_not_exists": ParticipantNotOnWhatsApp,
    "group_full": GroupFull,
    "invalid_invite_code": InvalidInvite,
    "group_participant_is_already_a_group_admin": AlreadyAdmin,
    "group_participant_is_already_not_a_group_admin": NotAnAdmin,
}


def translated(exc: WhatsAppError, group_id: str | None = None) -> ZapPoolError:
    """WhatsApp's refusal as ZapPool's error naming the reason; other failures stay WhatsAppError (502)."""
    wpp_code = str(exc.details.get("wppCode"))
    kind = WPP_CODES.get(wpp_code)
    if kind is None:
        return exc
    details = {"wppCode": wpp_code, **({"groupId": group_id} if group_id else {})}
    return kind(exc.message.removeprefix("WhatsApp Web refused "), details=details)
