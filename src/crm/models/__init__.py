"""ORM models, one module per aggregate. Importing this package registers every table."""

from crm.models.api_settings import APISetting, api_setting_assignees, api_setting_tags
from crm.models.identity import Address, AuthSession, Org, Profile, User
from crm.models.tags import Tag
from crm.models.teams import Team, team_members

__all__ = [
    "APISetting",
    "Address",
    "AuthSession",
    "Org",
    "Profile",
    "Tag",
    "Team",
    "User",
    "api_setting_assignees",
    "api_setting_tags",
    "team_members",
]
