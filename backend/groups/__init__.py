"""Groups of a number (issue 16, section 3): list, create, manage participants and admins, subject and
description, the invite link, join and leave, over WA-JS's `WPP.group.*` through whatsapp.client.wpp_call."""

from .errors import GroupFull, GroupNotFound, InvalidInvite, NotGroupAdmin, NotGroupMember, ParticipantNotOnWhatsApp
from .service import GroupsService

__all__ = ["GroupFull", "GroupNotFound", "GroupsService", "InvalidInvite", "NotGroupAdmin", "NotGroupMember",
           "ParticipantNotOnWhatsApp"]
